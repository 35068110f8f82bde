//! Import circles: none through the binary's top-level modules, none among
//! poll's, watch's and upgrade's files, none inside any crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{graph, named_modules, production_code, rust_files};

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
        let code = production_code(code);
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

/// `src/ops/<folder>`'s files as [`folder_graph`] reads them (tests left out).
fn ops_folder(folder: &str) -> Vec<(String, bool, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/ops")
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
        let g = folder_graph(&ops_folder(folder));
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
/// crate's top-level modules its code names, its tests (a `#[cfg(test)]`
/// module, a folder's `tests.rs`) left out: `crate::x`
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
        // a folder module's `tests.rs` is its `#[cfg(test)] mod tests;`
        if top == "lib" || top == "main" || f.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let code = production_code(&text);
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
