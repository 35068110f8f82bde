//! The import rules ARCHITECTURE.md draws, checked mechanically: the test
//! reads the source tree, so a wrong-way `use` fails `cargo test`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a file names through `crate::…` (including
/// `crate::{a, b::c}` groups), comments left out.
fn named_modules(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in src.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let m: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !m.is_empty() {
                        out.insert(m);
                    }
                }
            } else {
                let m: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.insert(m);
            }
        }
    }
    out
}

/// Each top-level module of `src/` and the modules it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" || top == "layers" {
            continue;
        }
        let names = named_modules(&std::fs::read_to_string(&f).unwrap());
        let entry = g.entry(top.clone()).or_default();
        entry.extend(names.into_iter().filter(|m| *m != top));
    }
    g
}

/// I/O crates: what the model and the core may never depend on.
const IO_CRATES: [&str; 8] = [
    "ureq", "rusqlite", "libc", "rustls", "ring", "clap", "anyhow", "toml",
];

/// Network and command-line crates: what the host and the store may never
/// depend on (they keep the machine's and the state file's I/O, not the forge's).
const NET_CRATES: [&str; 5] = ["ureq", "rustls", "ring", "clap", "toml"];

/// What the HTTP crate may never depend on: the state file's and the
/// command line's crates.
const STATE_CRATES: [&str; 4] = ["rusqlite", "libc", "clap", "toml"];

/// The crates below the binary, the afk crates each may never depend on, and
/// the other crates it may never depend on. The compiler enforces the rest (a
/// crate cannot name what it does not depend on); this pins the dependency
/// lists themselves.
const LOWER_CRATES: [(&str, &[&str], &[&str]); 10] = [
    (
        "crates/afk-model",
        &[
            "afk-wire",
            "afk-core",
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &IO_CRATES,
    ),
    // what the host, the client and the forges share with the core: as pure
    (
        "crates/afk-wire",
        &[
            "afk-core",
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-sandbox",
            "afk-git",
            "afk-registry",
            "afk",
        ],
        &IO_CRATES,
    ),
    (
        "crates/afk-core",
        &[
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-sandbox",
            "afk-git",
            "afk-registry",
            "afk",
        ],
        &IO_CRATES,
    ),
    // the clock, the log, private files: below every adapter
    // and not on the core: a decision's edit must not rebuild the host, the
    // client and the forges (they take the rules they share from afk-wire)
    (
        "crates/afk-host",
        &[
            "afk-core",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &NET_CRATES,
    ),
    // the one client names no store, forge, runner or command
    (
        "crates/afk-http",
        &[
            "afk-core",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &STATE_CRATES,
    ),
    // the forges never see the config, the store or a command
    (
        "crates/afk-forge",
        &[
            "afk-core",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &STATE_CRATES,
    ),
    // the state file names no client, forge, runner or command
    (
        "crates/afk-store",
        &[
            "afk-http",
            "afk-forge",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &NET_CRATES,
    ),
    // git over afk's clones: the core's tree changes, no client, no store
    (
        "crates/afk-git",
        &[
            "afk-model",
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &["ureq", "rustls", "ring", "rusqlite", "clap", "toml"],
    ),
    // the registry client: the core, the log and the one client; no forge, no store
    (
        "crates/afk-registry",
        &[
            "afk-model",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-sandbox",
            "afk",
        ],
        &["rusqlite", "libc", "clap", "toml"],
    ),
    // the fake shares no rule with what it fakes: not the core, not the client
    (
        "crates/afk-sandbox",
        &[
            "afk-wire",
            "afk-core",
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk",
        ],
        &[],
    ),
];

fn manifest(dir: &str) -> toml::Table {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(dir).join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn lower_crates_depend_on_no_io_crate_and_on_nothing_above_them() {
    let mut wrong = vec![];
    for (dir, not_these, not_io) in LOWER_CRATES {
        let manifest = manifest(dir);
        let deps = manifest["dependencies"].as_table().unwrap();
        for (name, spec) in deps {
            let optional = spec.get("optional").and_then(|o| o.as_bool()) == Some(true);
            // the model's rusqlite is optional, on only for the store
            let allowed = dir == "crates/afk-model" && name == "rusqlite" && optional;
            let io = not_io.contains(&name.as_str()) && !allowed;
            if not_these.contains(&name.as_str()) || io {
                wrong.push(format!("{dir} depends on {name}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a lower layer depends on I/O or on a higher one:\n{}",
        wrong.join("\n")
    );
    // and neither the core nor afk-wire turns the model's SQLite feature on
    for dir in ["crates/afk-core", "crates/afk-wire"] {
        let m = manifest(dir);
        assert!(
            m["dependencies"]["afk-model"].get("features").is_none(),
            "{dir}"
        );
    }
}

/// A circle through the binary's top-level modules, if there is one
/// (`a -> b -> … -> a`).
fn circle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        at: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == at) {
            let mut c = path[i..].to_vec();
            c.push(at.to_string());
            return Some(c);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_string());
        for next in g.get(at).into_iter().flatten() {
            if let Some(c) = visit(next, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(at.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys().find_map(|m| visit(m, g, &mut vec![], &mut done))
}

#[test]
fn no_circle_runs_through_the_binarys_modules() {
    assert_eq!(circle(&graph()), None, "an import circle");
}

#[test]
fn the_circle_finder_finds_a_circle_of_three() {
    let g: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), BTreeSet::from([v.to_string()])))
        .collect();
    assert_eq!(circle(&g).unwrap().join(" -> "), "a -> b -> c -> a");
    let mut g = g;
    g.remove("c");
    assert_eq!(circle(&g), None);
}

/// Each file of `src/commands/` with the command it belongs to, and its
/// code outside `#[cfg(test)]` modules and comments (the shared test
/// helpers, `testing.rs`, and test files are left out).
fn command_files() -> Vec<(PathBuf, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let mut files = vec![];
    rust_files(&dir, &mut files);
    let mut out = vec![];
    for f in files {
        let rel = f.strip_prefix(&dir).unwrap().to_path_buf();
        let name = rel.file_name().unwrap().to_string_lossy().to_string();
        if rel.to_str() == Some("mod.rs") || name == "testing.rs" || name == "tests.rs" {
            continue;
        }
        let command = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let production = text.split("#[cfg(test)]").next().unwrap_or("");
        let code: String = production
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        out.push((rel, command, code));
    }
    out
}

/// The ways to build an adapter or open the store: the session's, not a
/// command's (`session.rs`).
const ADAPTER_BUILDERS: [&str; 12] = [
    "Store::open",
    "Store::copy_in_memory",
    "edges::build",
    "edges::forge(",
    "edges::local(",
    "edges::files(",
    "forges::",
    "runner::from_config",
    "Git::new(",
    "OciRegistry::new(",
    "KubernetesRunner::new(",
    "Notifier::new(",
];

/// What a command file says that breaks `rule` (`wrong`: the words that do).
fn breaking(wrong: impl Fn(&str, &str) -> Vec<String>) -> Vec<String> {
    command_files()
        .into_iter()
        .flat_map(|(rel, command, code)| {
            wrong(&command, &code)
                .into_iter()
                .map(move |w| format!("{}: {w}", rel.display()))
        })
        .collect()
}

fn builders_in(code: &str) -> Vec<String> {
    ADAPTER_BUILDERS
        .iter()
        .filter(|b| code.contains(**b))
        .map(|b| b.to_string())
        .collect()
}

#[test]
fn no_command_builds_an_adapter_or_opens_the_store() {
    let wrong = breaking(|_, code| builders_in(code));
    assert!(
        wrong.is_empty(),
        "a command builds its own adapter (ask the Session): {wrong:#?}"
    );
}

#[test]
fn the_adapter_rule_sees_a_command_opening_the_store() {
    let code = "let s = crate::store::Store::open(ctx.state_path())?;\nlet f = s.forge()?;";
    assert_eq!(builders_in(code), ["Store::open"]);
    assert!(builders_in("let s = ctx.read_store()?;").is_empty());
}

/// The commands a command may name: its own, and the ticks the demo drives.
fn may_name(command: &str, other: &str) -> bool {
    other == command
        || other == "testing"
        || (command == "demo" && ["poll", "watch", "harvest", "upgrade"].contains(&other))
}

/// The other commands a command file names (`crate::commands::x`, or a
/// `super::` that climbs to `commands/`).
fn commands_named(rel: &Path, command: &str, code: &str) -> Vec<String> {
    let depth = rel.components().count() - usize::from(rel.ends_with("mod.rs"));
    let climb = match depth {
        1 => "super::",
        _ => "super::super::",
    };
    let mut named = vec![];
    for way in ["crate::commands::", climb] {
        let mut rest = code;
        while let Some(i) = rest.find(way) {
            let before = rest[..i].chars().last();
            rest = &rest[i + way.len()..];
            // `super::super::x` also contains `super::x`: count it once
            if way == "super::" && before == Some(':') {
                continue;
            }
            let m: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `super::X` of a type or function in commands/mod.rs is no command
            if !m.is_empty()
                && m.chars().next().unwrap().is_ascii_lowercase()
                && !may_name(command, &m)
            {
                named.push(m);
            }
        }
    }
    named
}

#[test]
fn a_command_names_no_other_command() {
    let wrong: Vec<String> = command_files()
        .into_iter()
        .flat_map(|(rel, command, code)| {
            commands_named(&rel, &command, &code)
                .into_iter()
                .map(move |m| format!("{} names commands::{m}", rel.display()))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "a command climbs into another (shared code belongs outside commands/): {wrong:#?}"
    );
}

#[test]
fn the_climb_rule_sees_a_sibling_named_either_way() {
    let cases = [
        (
            "watch/mod.rs",
            "watch",
            "super::poll::recover(x)",
            vec!["poll"],
        ),
        (
            "watch/act.rs",
            "watch",
            "super::super::poll::recover(x)",
            vec!["poll"],
        ),
        ("watch/act.rs", "watch", "super::talk::say(x)", vec![]),
        (
            "runs.rs",
            "runs",
            "crate::commands::status::age(x)",
            vec!["status"],
        ),
        ("demo/mod.rs", "demo", "super::poll::tick(x)", vec![]),
    ];
    for (rel, command, code, want) in cases {
        assert_eq!(
            commands_named(Path::new(rel), command, code),
            want,
            "{rel}: {code}"
        );
    }
}

/// The adapters that talk to the world name neither the state file nor a
/// command: the store is handed its caches' ports by the edges (the compiler
/// already stops the store naming them, and the client naming the store:
/// `afk-store` and `afk-http` cannot see the binary or each other).
#[test]
fn the_network_adapters_name_no_store_and_no_command() {
    let g = graph();
    let mut wrong = vec![];
    // (the registry and git are crates of their own: their manifests keep this)
    for adapter in ["runner"] {
        for above in ["store", "commands", "edges", "lessons", "metrics", "notify"] {
            if g.get(adapter).is_some_and(|d| d.contains(above)) {
                wrong.push(format!("{adapter} -> {above}"));
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![];
        let dir = src.join(adapter);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{adapter}.rs")));
        }
        for f in files {
            if std::fs::read_to_string(&f).unwrap().contains("afk_store") {
                wrong.push(format!("{} names afk_store", f.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "wrong-way imports: {}", wrong.join(", "));
}

/// One client: every outbound HTTP call starts from `client::builder` (afk-http;
/// afk's user agent, no redirects followed), so no other file builds a ureq agent
/// or calls ureq's one-shot functions, which would follow redirects.
#[test]
fn only_the_client_builds_an_http_agent() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    for c in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        rust_files(&c.path().join("src"), &mut files);
    }
    let ways = [
        "ureq::AgentBuilder",
        "ureq::agent(",
        "ureq::builder(",
        "ureq::get(",
        "ureq::post(",
        "ureq::put(",
        "ureq::delete(",
        "ureq::patch(",
        "ureq::head(",
        "ureq::request(",
        "ureq::request_url(",
    ];
    let mut wrong = vec![];
    for f in files {
        if f.ends_with("crates/afk-http/src/client.rs") || f.ends_with("layers.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect();
        for way in ways.iter().filter(|w| code.contains(**w)) {
            wrong.push(format!("{}: {way}", f.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "an HTTP agent built outside client.rs: {}",
        wrong.join(", ")
    );
}

#[test]
fn the_rule_reader_sees_plain_and_grouped_imports() {
    let got = named_modules(
        "use crate::forge::Commit;\nuse crate::{store, runner::Handle};\n// crate::git in a comment\nlet x = crate::config::f();",
    );
    let want: BTreeSet<String> = ["forge", "store", "runner", "config"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(got, want);
}

/// The arrows among one folder's files: `(name, code)` for each, a
/// subfolder's files under the subfolder's name (`report/mod.rs` and
/// `report/human.rs` are `report`; `inner` marks the ones whose `super::`
/// is that subfolder itself). A child naming `super::X` points at the
/// sibling `X`, or at `mod` for any other name (the folder's `mod.rs`);
/// `mod` points at each child it calls by `child::`.
fn folder_graph(files: &[(String, bool, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<&str> = files.iter().map(|f| f.0.as_str()).collect();
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, inner, code) in files {
        let code: String = code
            .split("#[cfg(test)]")
            .next()
            .unwrap_or("")
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let prefix = if *inner { "super::super::" } else { "super::" };
        let mut refs = BTreeSet::new();
        let mut rest = code.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c == ':') || (!*inner && rest.starts_with("super::")) {
                continue;
            }
            let items: Vec<String> = match rest.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(group.len())]
                    .split(',')
                    .map(ident)
                    .collect(),
                None => vec![ident(rest)],
            };
            for m in items.into_iter().filter(|m| !m.is_empty() && m != "self") {
                let to = if names.contains(m.as_str()) {
                    m
                } else {
                    "mod".into()
                };
                refs.insert(to);
            }
        }
        if name == "mod" {
            for n in &names {
                let call = format!("{n}::");
                if *n != "mod"
                    && code.match_indices(&call).any(|(i, _)| {
                        !code[..i].ends_with(':')
                            && !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    })
                {
                    refs.insert(n.to_string());
                }
            }
        }
        refs.remove(name);
        g.entry(name.clone()).or_default().extend(refs);
    }
    g
}

/// `src/commands/<folder>`'s files as [`folder_graph`] reads them (tests left out).
fn command_folder(folder: &str) -> Vec<(String, bool, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/commands")
        .join(folder);
    let mut files = vec![];
    rust_files(&dir, &mut files);
    // the files `mod.rs` declares under `#[cfg(test)]`
    let top = std::fs::read_to_string(dir.join("mod.rs")).unwrap();
    let lines: Vec<&str> = top.lines().collect();
    let tests: BTreeSet<String> = lines
        .windows(2)
        .filter(|w| w[0].contains("#[cfg(test)]"))
        .filter_map(|w| w[1].trim().strip_prefix("mod ")?.strip_suffix(';'))
        .map(|m| format!("{m}.rs"))
        .collect();
    let mut out = vec![];
    for f in files {
        let rel = f.strip_prefix(&dir).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let name = first.trim_end_matches(".rs").to_string();
        let file = rel.file_name().unwrap().to_string_lossy().to_string();
        if rel.components().count() == 1 && tests.contains(&file) {
            continue;
        }
        let inner = rel.components().count() > 1 && file != "mod.rs";
        out.push((name, inner, std::fs::read_to_string(&f).unwrap()));
    }
    out
}

/// Poll, watch and upgrade read top-down (ARCHITECTURE: "one run through
/// watch"): no file of theirs names their `mod.rs`, and no circle runs among them.
#[test]
fn poll_watch_and_upgrade_read_top_down_without_a_circle() {
    for folder in ["poll", "watch", "upgrade"] {
        let g = folder_graph(&command_folder(folder));
        let up: Vec<&String> = g
            .iter()
            .filter(|(k, v)| *k != "mod" && v.contains("mod"))
            .map(|(k, _)| k)
            .collect();
        assert!(up.is_empty(), "{folder}: {up:?} name mod.rs");
        assert_eq!(circle(&g), None, "{folder}: an import circle");
    }
}

#[test]
fn the_folder_reader_sees_a_return_into_mod_and_a_circle() {
    let file = |n: &str, code: &str| (n.to_string(), false, code.to_string());
    let g = folder_graph(&[
        file("mod", "mod act; mod talk;\nfn f() { act::act(); }"),
        file("act", "use super::Watch;\nuse super::{talk, lists::X};"),
        file("talk", "fn g() { super::act::checklist_for(); }"),
        file("lists", "use crate::x::super::y; // super::mod"),
    ]);
    assert_eq!(g["mod"], BTreeSet::from(["act".to_string()]));
    assert!(g["act"].contains("mod"), "super::Watch is a name of mod.rs");
    assert!(g["act"].contains("talk") && g["act"].contains("lists"));
    assert!(g["lists"].is_empty(), "{:?}", g["lists"]);
    assert_eq!(circle(&g).unwrap().join(" -> "), "act -> mod -> act");
}

/// The modules `src` names after `prefix` (`crate::`, `super::`): the same
/// reading as [`named_modules`], for another path root.
fn named_via(src: &str, prefix: &str) -> BTreeSet<String> {
    named_modules(
        &src.replace(prefix, "crate::")
            .replace("crate::crate::", "crate::"),
    )
}

/// Each top-level module of a library crate (`crates/<name>/src`) and the
/// crate's top-level modules its code names, its tests left out: `crate::x`
/// anywhere, and `super::x` in a file whose parent module is the crate's
/// root (`src/a.rs`, `src/a/mod.rs`).
fn crate_graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let src = dir.join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let top_of = |f: &Path| {
        let rel = f.strip_prefix(&src).unwrap();
        rel.components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string()
    };
    let tops: BTreeSet<String> = files.iter().map(|f| top_of(f)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let top = top_of(f);
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let code: String = code
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let rel = f.strip_prefix(&src).unwrap();
        let parts = rel.components().count();
        let child_of_root = parts == 1 || (parts == 2 && rel.ends_with("mod.rs"));
        let mut names = named_modules(&code);
        if child_of_root {
            names.extend(named_via(
                &code.replace("super::super::", "\u{0}"),
                "super::",
            ));
        }
        names.retain(|n| tops.contains(n) && *n != top);
        g.entry(top).or_default().extend(names);
    }
    g
}

#[test]
fn no_circle_runs_through_any_crates_own_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    let mut found = vec![];
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        let dir = e.path();
        if !dir.join("src").is_dir() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let g = crate_graph(&dir);
        if let Some(c) = circle(&g) {
            found.push(format!("{name}: {}", c.join(" -> ")));
        }
    }
    assert!(
        found.is_empty(),
        "import circles inside crates:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_crate_reader_sees_crate_and_root_super_imports_and_skips_tests() {
    let d = std::env::temp_dir().join(format!("afk-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("src/b")).unwrap();
    std::fs::write(d.join("src/lib.rs"), "mod a; mod b; mod c;").unwrap();
    std::fs::write(
        d.join("src/a.rs"),
        "use crate::b::x;\n#[cfg(test)]\nmod t { use crate::c; }",
    )
    .unwrap();
    std::fs::write(
        d.join("src/b/mod.rs"),
        "use super::c::y; // crate::a in a comment",
    )
    .unwrap();
    std::fs::write(d.join("src/c.rs"), "fn f() { super::a::z(); }").unwrap();
    let g = crate_graph(&d);
    let _ = std::fs::remove_dir_all(&d);
    let names = |m: &str| g[m].iter().cloned().collect::<Vec<_>>().join(",");
    assert_eq!(names("a"), "b", "tests left out");
    assert_eq!(names("b"), "c", "comments left out");
    assert_eq!(names("c"), "a");
    assert_eq!(circle(&g).unwrap().join(" -> "), "a -> b -> c -> a");
}

/// The lines of `code` (comments dropped, a `#[cfg(test)]` module and what
/// follows it left out) that branch on a forge kind: `ForgeKind::` named
/// anywhere but as a value given (`kind: ForgeKind::…`).
fn kind_branches(code: &str) -> Vec<String> {
    code.lines()
        .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
        .map(|l| l.split("//").next().unwrap_or(""))
        .filter(|l| l.contains("ForgeKind::") && !l.trim_start().starts_with("kind: ForgeKind::"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// One place describes a forge (issue 48): `afk-forge`'s `profile.rs`. The
/// binary asks `Config::profile` and branches on the kind nowhere.
#[test]
fn the_binary_branches_on_the_forge_kind_nowhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    let mut wrong = vec![];
    for f in files {
        if f.ends_with("layers.rs") || f.ends_with("config/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for l in kind_branches(&text) {
            wrong.push(format!("{}: {l}", f.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "ask the forge's profile instead: {wrong:#?}"
    );
}

#[test]
fn the_kind_reader_sees_a_comparison_and_a_match_but_not_a_default() {
    let cases = [
        ("if c.forge.kind == ForgeKind::Github {", 1),
        ("match k { ForgeKind::Gitea => 1, _ => 2 }", 1),
        ("            kind: ForgeKind::Gitea,", 0),
        ("// ForgeKind::Github in a comment", 0),
        ("#[cfg(test)]\nmod tests { ForgeKind::Github }", 0),
    ];
    for (code, want) in cases {
        assert_eq!(kind_branches(code).len(), want, "{code}");
    }
}

/// The method names a trait declares (`fn name(`), from its `pub trait Name`
/// line to the first line that closes it.
fn trait_methods(file: &str, name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let src = std::fs::read_to_string(&path).unwrap();
    let start = src
        .find(&format!("pub trait {name}"))
        .unwrap_or_else(|| panic!("{file} declares no trait {name}"));
    let body = &src[start..];
    let body = &body[..body.find("\n}").unwrap_or(body.len())];
    body.lines()
        .filter_map(|l| l.trim().strip_prefix("fn "))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// What in `code` writes: a call of one of `writes` (a method of the forge
/// or the runner that changes something), the state file, the journal, the
/// workspace, or a file written, made or removed; comments left out.
fn writing_edges(code: &str, writes: &[String]) -> Vec<String> {
    let mut found = vec![];
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        let mut hit = |what: &str| {
            let what = format!(
                "line {}: {}",
                n + 1,
                what.trim_end_matches([' ', ',', ';', '>', ')'])
            );
            if !found.contains(&what) {
                found.push(what);
            }
        };
        for w in writes {
            if line.contains(&format!(".{w}(")) {
                hit(w);
            }
        }
        for edge in [
            "Store ",
            "Store,",
            "Store;",
            "Store>",
            "Store)",
            "store.",
            "journal",
            "workspace.",
            "fs::write",
            "fs::create_dir",
            "fs::remove",
            "File::create",
        ] {
            if line.contains(edge) {
                hit(edge);
            }
        }
    }
    found
}

/// The forge's and the runner's methods that change something; a trait's
/// method that is in neither this list nor `READS` fails the test below, so
/// a new one is sorted before it is used.
const WRITES: &[&str] = &[
    "add_label",
    "remove_label",
    "create_label",
    "create_comment",
    "edit_comment",
    "close_issue",
    "edit_issue_body",
    "create_pull",
    "close_pull",
    "react",
    "update_branch",
    "start",
    "resume",
    "settle",
    "stop",
    "start_record",
    "bind_instance",
];
const READS: &[&str] = &[
    "is_public",
    "requests",
    "costly_requests",
    "revalidate",
    "adds_missing_labels",
    "diagnose",
    "me",
    "git_credentials",
    "issues_with_label",
    "issue",
    "timeline",
    "permission",
    "dependencies",
    "repo_labels",
    "comments",
    "open_pulls",
    "recent_closed_pulls",
    "pull",
    "combined_status",
    "commits",
    "diff",
    "branch",
    "reviews",
    "line_comments",
    "prefetch",
    "observe",
    "forwarded",
    "read_spend",
    "check",
];

/// Watch's observe and decide phases hold no writing edge
/// (docs/how-it-works.md#afk-watch-the-lifecycle): observing reads the forge,
/// the runner and the run's files into one `Seen`, deciding asks core; only
/// settle and act write. Upgrade's reads take the same shape: every read of a
/// tick at once (`gather.rs`, `prefetch.rs`) before a recipe's writes.
#[test]
fn observe_and_decide_hold_no_writing_edge() {
    let methods: Vec<String> = trait_methods("crates/afk-forge/src/lib.rs", "Forge")
        .into_iter()
        .chain(trait_methods("src/runner/mod.rs", "Runner"))
        .collect();
    let unsorted: Vec<&String> = (methods.iter())
        .filter(|m| !WRITES.contains(&m.as_str()) && !READS.contains(&m.as_str()))
        .collect();
    assert!(
        unsorted.is_empty(),
        "neither a read nor a write: {unsorted:?}"
    );
    let writes: Vec<String> = WRITES.iter().map(|w| w.to_string()).collect();
    let commands = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    for phase in [
        "watch/observe.rs",
        "watch/decide.rs",
        "upgrade/gather.rs",
        "upgrade/prefetch.rs",
    ] {
        let code = std::fs::read_to_string(commands.join(phase)).unwrap();
        let found = writing_edges(&code, &writes);
        assert!(found.is_empty(), "{phase} writes: {}", found.join(", "));
    }
}

#[test]
fn the_writing_edge_reader_sees_a_forge_write_and_the_store() {
    let writes = vec!["create_comment".to_string()];
    let code = "fn f(w: &Watch, store: &Store) {\n    // store.x() in a comment\n    w.t.forge.create_comment(&r, 1, \"x\")?;\n}\n";
    assert_eq!(
        writing_edges(code, &writes),
        ["line 1: Store", "line 3: create_comment"]
    );
    assert!(writing_edges("let x = w.t.forge.pull(&r, 1)?;", &writes).is_empty());
    assert_eq!(
        trait_methods("src/runner/mod.rs", "Runner")
            .first()
            .map(String::as_str),
        Some("start")
    );
}

// ---- one redacting boundary (docs/security.md#nothing-afk-writes-carries-a-secret)

/// `code`'s production lines, numbered from 1: comments dropped, and an item
/// under `#[cfg(test)]` (a tests module, a test-only helper) left out, up to
/// its closing brace or its `;`.
fn production_lines(code: &str) -> Vec<(usize, String)> {
    let mut out = vec![];
    let mut skipping = false;
    let mut depth = 0i64;
    let mut opened = false;
    for (i, l) in code.lines().enumerate() {
        let l = l.split("//").next().unwrap_or("");
        if !skipping && l.trim_start().starts_with("#[cfg(test)]") {
            (skipping, depth, opened) = (true, 0, false);
            continue;
        }
        if skipping {
            for c in l.chars() {
                match c {
                    '{' => (depth, opened) = (depth + 1, true),
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                skipping = false;
            }
            continue;
        }
        out.push((i + 1, l.to_string()));
    }
    out
}

/// Every production file of the binary and the crates (not the sandbox's,
/// which is afk's test world, and not test files or test-only modules), by
/// its path under the workspace, with its production lines.
fn production_files() -> Vec<(String, Vec<(usize, String)>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    for c in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        if c.file_name() != "afk-sandbox" {
            rust_files(&c.path().join("src"), &mut files);
        }
    }
    files.sort();
    let test_only = ["layers.rs", "tests.rs", "testing.rs"];
    files
        .into_iter()
        .filter(|f| !test_only.iter().any(|t| f.ends_with(t)))
        .filter(|f| !f.components().any(|c| c.as_os_str() == "tests"))
        .map(|f| {
            let rel = f.strip_prefix(root).unwrap().display().to_string();
            let code = std::fs::read_to_string(&f).unwrap();
            (rel, production_lines(&code))
        })
        .collect()
}

/// The words of `lines` that `is_raw` finds, as `file:line: words`.
fn raw_in(file: &str, lines: &[(usize, String)], is_raw: impl Fn(&str) -> bool) -> Vec<String> {
    lines
        .iter()
        .filter(|(_, l)| is_raw(l))
        .map(|(n, l)| format!("{file}:{n}: {}", l.trim()))
        .collect()
}

/// A print of its own: a print macro, or stdout or stderr taken by hand.
fn raw_print(line: &str) -> bool {
    ["println!", "print!", "eprintln!", "eprint!", "dbg!"]
        .iter()
        .any(|m| {
            line.match_indices(m)
                .any(|(i, _)| !line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        })
        || line.contains("io::stdout()")
        || line.contains("io::stderr()")
}

/// The sinks: the files that print, each redacting what it prints.
const PRINT_SINKS: [(&str, &str); 6] = [
    (
        "src/output.rs",
        "reports and lines to stdout: redact::text or redact::json first",
    ),
    (
        "src/document.rs",
        "the one --json document: redact::json first",
    ),
    (
        "src/main.rs",
        "the error document: its line and hints through redact::text",
    ),
    (
        "crates/afk-host/src/log.rs",
        "stderr's log lines: redact::text in `line`",
    ),
    (
        "crates/afk-host/src/say.rs",
        "the box's own lines, stdout and stderr: redact::text first",
    ),
    (
        "src/commands/sandbox.rs",
        "the sandbox's own made-up tokens, which it must show; afk loads no config there, so it holds no secret",
    ),
];

/// Everything afk prints passes a sink that redacts: no file but the sinks
/// prints by itself (a `println!` of forge or agent text would carry a
/// secret afk holds past the redaction).
#[test]
fn nothing_prints_but_through_a_redacting_sink() {
    let mut wrong = vec![];
    for (file, lines) in production_files() {
        if PRINT_SINKS.iter().any(|(s, _)| *s == file) {
            continue;
        }
        wrong.extend(raw_in(&file, &lines, raw_print));
    }
    assert!(
        wrong.is_empty(),
        "a print outside the sinks (output::line, afk_host::say, the log):\n{}",
        wrong.join("\n")
    );
}

/// A request sent by hand: ureq's sends.
fn raw_send(line: &str) -> bool {
    [
        ".call()",
        ".send_json(",
        ".send_string(",
        ".send_bytes(",
        ".send_form(",
        ".send(reader",
    ]
    .iter()
    .any(|s| line.contains(s))
}

/// What an allowed sender sends: a body only through `redact::json`, or no
/// body at all.
#[derive(PartialEq)]
enum Sends {
    BodiesRedacted,
    NoBody,
}

/// The files that send requests themselves, and why that is safe.
const SENDERS: [(&str, Sends, &str); 8] = [
    (
        "crates/afk-http/src/lib.rs",
        Sends::BodiesRedacted,
        "the client every forge and agent-thread call goes through",
    ),
    (
        "src/runner/kubernetes/mod.rs",
        Sends::BodiesRedacted,
        "the cluster's own client (its token, its CA)",
    ),
    (
        "src/notify.rs",
        Sends::BodiesRedacted,
        "Slack and webhook posts",
    ),
    (
        "src/metrics.rs",
        Sends::NoBody,
        "the heartbeat's GET: its URL is the operator's, sent to its own host",
    ),
    (
        "src/upstream_refs.rs",
        Sends::NoBody,
        "a GET of an upstream's refs",
    ),
    (
        "crates/afk-registry/src/oci.rs",
        Sends::NoBody,
        "GETs of tags and the bearer token",
    ),
    (
        "crates/afk-registry/src/created.rs",
        Sends::NoBody,
        "GETs of a manifest and its config",
    ),
    (
        "src/commands/demo/review.rs",
        Sends::BodiesRedacted,
        "the demo plays the people on its own sandbox's admin API",
    ),
];

/// Every request afk sends passes a sink that redacts its body: no file but
/// the listed senders sends one by itself, and each of those sends a body
/// only after `redact::json`, or none.
#[test]
fn no_request_is_sent_but_through_a_redacting_sink() {
    let mut wrong = vec![];
    for (file, lines) in production_files() {
        let sends = raw_in(&file, &lines, raw_send);
        match SENDERS.iter().find(|(s, ..)| *s == file) {
            None => wrong.extend(sends),
            Some((_, how, _)) => {
                let code: String = lines.iter().map(|(_, l)| l.as_str()).collect();
                let bodies = raw_in(&file, &lines, |l| raw_send(l) && !l.contains(".call()"));
                if *how == Sends::NoBody && !bodies.is_empty() {
                    wrong.extend(
                        bodies
                            .into_iter()
                            .map(|b| format!("{b} (listed as sending no body)")),
                    );
                }
                if *how == Sends::BodiesRedacted && !code.contains("redact::json(") {
                    wrong.push(format!("{file}: sends bodies, none through redact::json"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a request sent outside the redacting sinks:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_sink_rules_see_a_print_a_send_and_skip_tests() {
    let code = "fn f() {\n    println!(\"{token}\");\n    // eprintln!(\"in a comment\")\n    let _ = std::io::stderr().lock();\n    let x = my_println!(1);\n    agent.post(u).send_json(b)?;\n}\n#[cfg(test)]\nfn helper() {\n    eprintln!(\"test only\");\n}\n#[cfg(test)]\nmod tests {\n    fn t() { println!(\"x\"); }\n}\nfn g() { print!(\"y\") }\n";
    let lines = production_lines(code);
    assert_eq!(
        raw_in("f.rs", &lines, raw_print),
        [
            "f.rs:2: println!(\"{token}\");",
            "f.rs:4: let _ = std::io::stderr().lock();",
            "f.rs:16: fn g() { print!(\"y\") }",
        ]
    );
    assert_eq!(
        raw_in("f.rs", &lines, raw_send),
        ["f.rs:6: agent.post(u).send_json(b)?;"]
    );
}
