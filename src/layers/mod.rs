//! The import rules ARCHITECTURE.md draws, checked mechanically: the test
//! reads the source tree, so a wrong-way `use` fails `cargo test`. This file
//! holds the source-reading helpers the rules share; each rule lives in the
//! file named for what it guards.

mod adapters;
mod circles;
mod citations;
mod crates;
mod env_reads;
mod errors;
mod files;
mod map;
mod rooms;
mod sinks;
mod surface;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// This folder: the rules themselves, test-only, and full of the words they
/// look for, so every scan of the source tree leaves it out.
fn is_layers(f: &Path) -> bool {
    f.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/layers"))
}

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

/// `code`'s production lines as one text: [`production_lines`] joined, for
/// a reader that looks across lines.
fn production_code(code: &str) -> String {
    production_lines(code)
        .into_iter()
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join("\n")
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

/// A wall reads a file whole: every `#[cfg(test)]` item left out
/// ([`production_lines`]), never everything after the first one, which
/// hides a file's code behind a `#[cfg(test)] mod tests;` at its top. The
/// needles are built by `concat!` so this file may be read with the rest.
#[test]
fn no_wall_cuts_a_file_at_its_first_cfg_test() {
    let mark = concat!("#[cfg", "(test)]");
    let split = format!("split(\"{mark}\")");
    let take = concat!("take_", "while(");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/layers");
    let mut wrong = vec![];
    for f in std::fs::read_dir(&dir).unwrap().flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap();
        let name = f.file_name().to_string_lossy().to_string();
        if text.contains(&split) {
            wrong.push(format!("{name}: {split}"));
        }
        for (i, _) in text.match_indices(take) {
            // the closure: up to the `)` that closes `take_while(`
            let rest = &text[i + take.len()..];
            let mut depth = 0;
            let end = rest
                .find(|c| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth < 0
                })
                .unwrap_or(rest.len());
            if rest[..end].contains(mark) {
                wrong.push(format!("{name}: {take}{}", &rest[..end]));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a wall cuts a file at its first {mark} (read it with production_lines): {wrong:#?}"
    );
}
