//! afk-core's `pub` surface: each top-level `pub` item of its production
//! code is named by another crate (the binary, a crate beside it, the tests,
//! the examples), else it is `pub(crate)`, where rustc's dead-code lint
//! sees it. The exceptions are the types only reached through another `pub`
//! item's signature (rustc refuses a private type there), each listed with
//! that item. Methods and fields are not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The types other crates reach only through a `pub` item's signature:
/// (type, the item that carries it).
const THROUGH_A_SIGNATURE: &[(&str, &str)] = &[
    ("Age", "upgrade::release_age::age"),
    ("Alphabet", "base64::decode"),
    ("Arming", "dispatch::arming"),
    ("Board", "status::leaderboard::board"),
    ("Changer", "churn::changers"),
    ("Churn", "status::report::Figures::churn"),
    ("ComposeError", "upgrade::compose::find_images"),
    ("DaySpend", "spend::day_spend"),
    ("Difference", "run_spend::RunSpend::said"),
    ("Glob", "gate::Policy::protected"),
    ("Hint", "hook::azure::hint"),
    ("ImageBump", "upgrade::Bump::more"),
    ("NotTheEdit", "upgrade::commit::commit_is_only_the_edit"),
    ("NotZeroTouch", "status::report::ZeroTouchFigures::not"),
    ("Pep440", "gate::osv::Key::Pep"),
    ("RepoFigures", "status::report::Report::repos"),
    ("RepoPick", "dispatch::pick_in_repo"),
    ("RevertOf", "status::leaderboard::Reverts::runs"),
    ("Reverts", "status::report::Figures::reverts"),
    ("Rounds", "status::report::Figures::review_rounds"),
    ("Selection", "upgrade::tags::select"),
    ("SemVer", "gate::osv::Key::Sem"),
    ("ServiceImage", "upgrade::compose::find_images"),
    ("Severity", "gate::osv::Hit::severity"),
    ("TemplateFigures", "status::report::Report::templates"),
    ("Window", "progress::window"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Each top-level `pub` item of afk-core's production code: name → file.
fn core_items() -> BTreeMap<String, PathBuf> {
    let mut files = vec![];
    super::rust_files(&root().join("crates/afk-core/src"), &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let test_file = f.components().any(|c| c.as_os_str() == "tests")
            || f.file_name().is_some_and(|n| n == "tests.rs");
        if test_file {
            continue;
        }
        let code = std::fs::read_to_string(&f).unwrap();
        for (_, l) in super::production_lines(&code) {
            let Some(rest) = l.strip_prefix("pub ") else {
                continue;
            };
            let rest = rest
                .trim_start_matches("const fn ")
                .trim_start_matches("async fn ");
            let mut words = rest.split_whitespace();
            let kind = words.next().unwrap_or("");
            if !["fn", "struct", "enum", "const", "static", "type", "trait"].contains(&kind) {
                continue;
            }
            let name: String = words
                .next()
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name, f.clone());
            }
        }
    }
    out
}

/// Every identifier in the Rust files outside afk-core (this folder left out).
fn named_elsewhere() -> BTreeSet<String> {
    let r = root();
    let mut files = vec![];
    for dir in ["src", "tests", "examples"] {
        super::rust_files(&r.join(dir), &mut files);
    }
    for e in std::fs::read_dir(r.join("crates")).unwrap().flatten() {
        if e.file_name() != "afk-core" {
            super::rust_files(&e.path(), &mut files);
        }
    }
    files.push(r.join("build.rs"));
    let mut out = BTreeSet::new();
    for f in files.iter().filter(|f| !super::is_layers(f)) {
        let Ok(code) = std::fs::read_to_string(f) else {
            continue;
        };
        for w in code.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if !w.is_empty() {
                out.insert(w.to_string());
            }
        }
    }
    out
}

/// The items of `items` that `named` lacks and `kept` does not list.
fn unnamed(
    items: &BTreeMap<String, PathBuf>,
    named: &BTreeSet<String>,
    kept: &BTreeSet<&str>,
) -> Vec<String> {
    items
        .iter()
        .filter(|(n, _)| !named.contains(*n) && !kept.contains(n.as_str()))
        .map(|(n, f)| format!("{n} ({})", f.strip_prefix(root()).unwrap_or(f).display()))
        .collect()
}

#[test]
fn each_pub_item_of_afk_core_is_named_by_another_crate_or_carried_by_one_that_is() {
    let items = core_items();
    assert!(items.len() > 500, "the reader found {} items", items.len());
    let named = named_elsewhere();
    let kept: BTreeSet<&str> = THROUGH_A_SIGNATURE.iter().map(|(n, _)| *n).collect();
    let unnamed = unnamed(&items, &named, &kept);
    assert!(
        unnamed.is_empty(),
        "pub in afk-core, named by no other crate: make them pub(crate), or list a type \
         carried by a pub signature in THROUGH_A_SIGNATURE:\n{}",
        unnamed.join("\n")
    );
    let stale: Vec<&str> = kept
        .iter()
        .filter(|n| !items.contains_key(**n) || named.contains(**n))
        .copied()
        .collect();
    assert!(
        stale.is_empty(),
        "listed in THROUGH_A_SIGNATURE, but gone or named by another crate now: {stale:?}"
    );
}

/// The check can fail: a planted item no other crate names is caught, and
/// the same item named elsewhere or listed is not.
#[test]
fn a_planted_pub_item_no_other_crate_names_is_caught() {
    let mut items = core_items();
    let planted = "planted_surface_probe";
    items.insert(
        planted.into(),
        Path::new("crates/afk-core/src/lib.rs").into(),
    );
    let named = named_elsewhere();
    let kept: BTreeSet<&str> = THROUGH_A_SIGNATURE.iter().map(|(n, _)| *n).collect();
    let caught = unnamed(&items, &named, &kept);
    assert_eq!(caught.len(), 1, "{caught:?}");
    assert!(caught[0].starts_with(planted), "{caught:?}");
    let mut named = named;
    named.insert(planted.into());
    assert!(unnamed(&items, &named, &kept).is_empty());
}
