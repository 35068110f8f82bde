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
const LOWER_CRATES: [(&str, &[&str], &[&str]); 8] = [
    (
        "crates/afk-model",
        &[
            "afk-wire",
            "afk-core",
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
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
            "afk-sandbox",
            "afk",
        ],
        &NET_CRATES,
    ),
    // the one client names no store, forge, runner or command
    (
        "crates/afk-http",
        &["afk-core", "afk-forge", "afk-store", "afk-sandbox", "afk"],
        &STATE_CRATES,
    ),
    // the forges never see the config, the store or a command
    (
        "crates/afk-forge",
        &["afk-core", "afk-store", "afk-sandbox", "afk"],
        &STATE_CRATES,
    ),
    // the state file names no client, forge, runner or command
    (
        "crates/afk-store",
        &["afk-http", "afk-forge", "afk-sandbox", "afk"],
        &NET_CRATES,
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

#[test]
fn no_two_modules_of_the_binary_import_each_other() {
    let g = graph();
    let mut circles = vec![];
    for (a, deps) in &g {
        for b in deps {
            let back = g.get(b).is_some_and(|d| d.contains(a));
            if a < b && back {
                circles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(circles.is_empty(), "import circles: {}", circles.join(", "));
}

/// The adapters that talk to the world name neither the state file nor a
/// command: the store is handed its caches' ports by the edges (the compiler
/// already stops the store naming them, and the client naming the store:
/// `afk-store` and `afk-http` cannot see the binary or each other).
#[test]
fn the_network_adapters_name_no_store_and_no_command() {
    let g = graph();
    let mut wrong = vec![];
    for adapter in ["runner", "registry", "git"] {
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
