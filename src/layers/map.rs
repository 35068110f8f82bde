//! The map kept true (#83 item 4): every path and `path:symbol` that
//! ARCHITECTURE.md names is looked up in the tree, so a file moved, a folder
//! split or a function renamed fails `cargo test` until the map follows.
//!
//! What is read: every backticked span of ARCHITECTURE.md after its first
//! `## ` heading (the legend above it explains the names with made-up ones:
//! `a.rs:f`, `core/x.rs`). A span names a path when it begins with a run of
//! path characters (letters, digits, `_ . - / < > #`), optionally followed by
//! `:symbol` or `:Type::method`, and that run contains a `/` or ends in `.rs`,
//! `.md`, `.toml` or `.sh` (before any `#anchor`). Nothing may follow but, after
//! a symbol, a call or a literal written with its place (`tick.rs:run(ctx, …)`,
//! `tick.rs:Event { … }`: the leading `path:symbol` is checked).
//!
//! What is not a path, so not read:
//! - a span with anything else after the path: a shell command
//!   (`afk __box /dev/fd/N …`), a URL (`https://…`: the `:` ends the path and
//!   no symbol follows), a glob (`.github/workflows/**`), code;
//! - a span without a `/` or one of those endings: a config key
//!   (`gate.max_files`), a Rust path (`runner::kubernetes::kind_of`), a run
//!   folder's `metered.jsonl`;
//! - a span beginning with `/`: an HTTP path (`/repos/…`), a path on the
//!   machine (`/etc`) or a command (`/afk`);
//! - a git ref (`refs/…`) and the names in [`NOT_PATHS`].
//!
//! Where a path is: a path beginning with a prefix of [`WHERE`] is under that
//! prefix's folder and nowhere else. Any other path is looked for under the
//! folders named before it on its line, the nearest first, then under `src/`:
//! a folder the line names (`ops/watch/` (`mod.rs`, `settle.rs`)), a
//! template's folder (`ops/<tick>` … `mod.rs`), the crate of a map row
//! (`send.rs` in the row of afk-http is `crates/afk-http/src/send.rs`). A
//! name ending in `/` must be a folder. A template (`commands/<name>.rs`,
//! `sandbox/routes/<kind>/`) names the folder before its first `<`.
//!
//! What a symbol is: for `path:NAME`, the Rust file defines `NAME`: an item
//! (`fn`, `struct`, `enum`, `trait`, `type`, `const`, `static`, `mod`, `union`,
//! `macro_rules!`), an `impl` naming it, or a line that opens with it (an
//! enum variant, a struct field, a macro's item: `named_enum!`'s
//! `ForgeKind { … }`); a test is its `fn`. For `path:Type::method`, `Type` is
//! defined or named by an `impl` in that file, and the file has `fn method`.
//! For `path.md#anchor`, the file has a heading whose GitHub anchor is
//! `anchor`.

use std::path::Path;

/// Where the map's short paths live (ARCHITECTURE.md's "Paths:" legend): a
/// path beginning with the first is under the second and nowhere else.
/// `core/x.rs` is `crates/afk-core/src/x.rs`.
const WHERE: [(&str, &str); 16] = [
    ("core/", "crates/afk-core/src/"),
    ("wire/", "crates/afk-wire/src/"),
    ("model/", "crates/afk-model/src/"),
    ("host/", "crates/afk-host/src/"),
    ("http/", "crates/afk-http/src/"),
    ("forge/", "crates/afk-forge/src/"),
    ("registry/", "crates/afk-registry/src/"),
    ("git/", "crates/afk-git/src/"),
    ("store/", "crates/afk-store/src/"),
    ("sandbox/", "crates/afk-sandbox/src/"),
    ("tests/", "tests/"),
    ("docs/", "docs/"),
    ("examples/", "examples/"),
    ("contrib/", "contrib/"),
    ("src/", "src/"),
    ("crates/", "crates/"),
];

/// A name without a `/` is a path when it ends in one of these.
const ENDINGS: [&str; 4] = [".rs", ".md", ".toml", ".sh"];

/// Names shaped like paths that name nothing in the tree.
const NOT_PATHS: [&str; 2] = [
    // a repository's name, as `RepoName::parse` reads it
    "owner/name",
    // a file afk writes in a run's folder
    "gate.md",
];

/// The least the map names today (645 paths, 286 symbols and anchors): a
/// reader that finds fewer has stopped seeing them.
const AT_LEAST: (usize, usize) = (600, 260);

/// The least number of trace steps written `a.rs:f` → `b.rs:g` the map
/// holds today, each checked: `f`'s body names `g`.
const CLAIMS_AT_LEAST: usize = 30;

/// What a path is in the tree.
enum Entry {
    Folder,
    File(String),
}

/// What the map came to: paths looked up, symbols and anchors checked, and
/// every name that is stale.
#[derive(Default)]
struct Checked {
    paths: usize,
    symbols: usize,
    /// trace steps `a.rs:f` → `b.rs:g` checked: `f`'s body names `g`
    claims: usize,
    stale: Vec<String>,
}

/// The body of `fn name` in `text` (from its line to the brace that closes
/// it, braces in strings and comments counted as code: the bodies the map
/// names hold none unbalanced); None when the file has no such `fn`.
fn fn_body<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if !t.starts_with("//") && words(t).windows(2).any(|p| p[0] == "fn" && p[1] == name) {
            let rest = &text[at..];
            return Some(fn_body_at(rest).unwrap_or(rest));
        }
        at += line.len();
    }
    None
}

/// The last segment of a symbol: `Type::method` is `method`.
fn last_segment(symbol: &str) -> &str {
    symbol.rsplit("::").next().unwrap_or(symbol)
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.-/<>#".contains(c)
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A span's path and symbol when it names a path: `core/gate.rs:judge` is
/// (`core/gate.rs`, `judge`), `tick.rs:run(ctx, …)` is (`tick.rs`, `run`).
fn path_of(span: &str) -> Option<(&str, &str)> {
    let end = span.find(|c: char| !is_path_char(c)).unwrap_or(span.len());
    let (path, mut rest) = span.split_at(end);
    let mut symbol = "";
    if let Some(after) = rest.strip_prefix(':')
        && after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
    {
        let b = after.as_bytes();
        let mut n = 0;
        while n < b.len() {
            if is_ident_byte(b[n]) {
                n += 1;
            } else if b[n] == b':' && b.get(n + 1) == Some(&b':') {
                n += 2;
            } else {
                break;
            }
        }
        symbol = &after[..n];
        rest = &after[n..];
    }
    let written_with_its_place =
        !symbol.is_empty() && (rest.starts_with('(') || rest.starts_with(' '));
    if !rest.is_empty() && !written_with_its_place {
        return None;
    }
    let file = path.split('#').next().unwrap_or(path);
    let pathlike = file.contains('/') || ENDINGS.iter().any(|e| file.ends_with(*e));
    let not_one = path.starts_with('/') || path.starts_with("refs/") || NOT_PATHS.contains(&path);
    (pathlike && !not_one).then_some((path, symbol))
}

/// The folder a template names: `ops/<tick>/mod.rs` is `ops/`; a template
/// with no folder before its first `<` names nothing ("").
fn template_folder(path: &str) -> &str {
    match path.find('<') {
        None => path,
        Some(i) => path[..i].rfind('/').map_or("", |j| &path[..=j]),
    }
}

/// The one place a path with a prefix of [`WHERE`] can be.
fn aliased(path: &str) -> Option<String> {
    WHERE.iter().find_map(|(prefix, folder)| {
        path.strip_prefix(*prefix)
            .map(|rest| format!("{folder}{rest}"))
    })
}

/// The words of a line: its runs of letters, digits and `_`.
fn words(line: &str) -> Vec<&str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Lines of Rust that are not `//` comments, trimmed.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.starts_with("//"))
}

const ITEMS: [&str; 10] = [
    "fn",
    "struct",
    "enum",
    "trait",
    "type",
    "const",
    "static",
    "mod",
    "union",
    "macro_rules",
];

/// The file defines `name`: an item, or a line that opens with it (a variant,
/// a field, a macro's item).
fn defines(text: &str, name: &str) -> bool {
    code_lines(text).any(|t| {
        let w = words(t);
        if w.windows(2).any(|p| ITEMS.contains(&p[0]) && p[1] == name) {
            return true;
        }
        let t = ["pub(crate) ", "pub(super) ", "pub "]
            .iter()
            .find_map(|p| t.strip_prefix(*p))
            .unwrap_or(t);
        t.strip_prefix(name).is_some_and(|r| {
            r.is_empty()
                || r.starts_with('(')
                || r.starts_with('{')
                || r.starts_with(',')
                || r.starts_with(" {")
                || (r.starts_with(':') && !r.starts_with("::"))
        })
    })
}

/// An `impl` line of the file names `name`.
fn impl_names(text: &str, name: &str) -> bool {
    code_lines(text).any(|t| t.starts_with("impl") && words(t).contains(&name))
}

/// The file has `fn name`.
fn has_fn(text: &str, name: &str) -> bool {
    code_lines(text).any(|t| words(t).windows(2).any(|p| p[0] == "fn" && p[1] == name))
}

/// The Rust file holds `symbol` (`NAME` or `Type::method`).
fn holds(text: &str, symbol: &str) -> bool {
    match symbol.split_once("::") {
        Some((ty, f)) => (defines(text, ty) || impl_names(text, ty)) && has_fn(text, f),
        None => defines(text, symbol) || impl_names(text, symbol),
    }
}

/// GitHub's anchor of a heading: lower case, spaces as `-`, other
/// punctuation dropped.
fn anchor_of(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn has_heading(text: &str, anchor: &str) -> bool {
    text.lines()
        .filter(|l| l.starts_with('#'))
        .any(|l| anchor_of(l.trim_start_matches('#')) == anchor)
}

/// Every path and symbol the document names, looked up through `look`
/// (a path relative to the top → what it is there).
fn check(doc: &str, look: &dyn Fn(&str) -> Option<Entry>) -> Checked {
    let mut out = Checked::default();
    let mut in_body = false;
    for (i, line) in doc.lines().enumerate() {
        in_body |= line.starts_with("## ");
        if !in_body {
            continue;
        }
        let at = format!("ARCHITECTURE.md:{}", i + 1);
        // the folders named so far on this line, the nearest last
        let mut near: Vec<String> = vec![];
        if let Some(row) = line.strip_prefix("| afk-") {
            let name = row.split(" |").next().unwrap_or("").trim();
            let folder = format!("crates/afk-{name}/src/");
            out.paths += 1;
            if matches!(look(folder.as_str()), Some(Entry::Folder)) {
                near.push(folder);
            } else {
                out.stale.push(format!(
                    "{at}: the map's row afk-{name}: no folder {folder}"
                ));
            }
        }
        let parts: Vec<&str> = line.split('`').collect();
        // the span before this one on the line, when it named a function
        // of a Rust file: (its file's text, its symbol, the span)
        let mut before: Option<(String, String, String)> = None;
        for (k, span) in parts.iter().enumerate().skip(1).step_by(2) {
            let arrow = parts.get(k - 1).is_some_and(|t| t.trim() == "→");
            let came = before.take();
            let Some((path, symbol)) = path_of(span) else {
                continue;
            };
            let (file, anchor) = path.split_once('#').unwrap_or((path, ""));
            let templated = file.contains('<');
            let name = template_folder(file);
            if name.is_empty() {
                continue;
            }
            let places: Vec<String> = match aliased(name) {
                Some(place) => vec![place],
                None => near
                    .iter()
                    .rev()
                    .map(|folder| format!("{folder}{name}"))
                    .chain(std::iter::once(format!("src/{name}")))
                    .collect(),
            };
            out.paths += 1;
            let found = places.iter().find_map(|place| {
                let entry = look(place.as_str())?;
                let fits = !name.ends_with('/') || matches!(entry, Entry::Folder);
                fits.then(|| (place.clone(), entry))
            });
            let Some((place, entry)) = found else {
                out.stale
                    .push(format!("{at}: `{span}`: none of {}", places.join(", ")));
                continue;
            };
            let text = match entry {
                Entry::Folder => {
                    if !symbol.is_empty() || !anchor.is_empty() {
                        out.stale
                            .push(format!("{at}: `{span}`: {place} is a folder"));
                    }
                    let folder = if place.ends_with('/') {
                        place
                    } else {
                        format!("{place}/")
                    };
                    near.push(folder);
                    continue;
                }
                Entry::File(text) => text,
            };
            if templated {
                continue;
            }
            if !symbol.is_empty() {
                out.symbols += 1;
                if !place.ends_with(".rs") || !holds(&text, symbol) {
                    out.stale
                        .push(format!("{at}: `{span}`: {place} defines no `{symbol}`"));
                }
                // a step `a.rs:f` → `b.rs:g`: f's body names g
                if arrow && let Some((from, f, was)) = &came {
                    out.claims += 1;
                    let g = last_segment(symbol);
                    let names =
                        fn_body(from, last_segment(f)).is_some_and(|body| words(body).contains(&g));
                    if !names {
                        out.stale.push(format!(
                            "{at}: `{was}` → `{span}`: `{f}`'s body never names `{g}`"
                        ));
                    }
                }
                if place.ends_with(".rs") && has_fn(&text, last_segment(symbol)) {
                    before = Some((text.clone(), symbol.to_string(), span.to_string()));
                }
            }
            if !anchor.is_empty() {
                out.symbols += 1;
                if !has_heading(&text, anchor) {
                    out.stale
                        .push(format!("{at}: `{span}`: {place} has no heading #{anchor}"));
                }
            }
        }
    }
    out
}

/// The tree at the top of the package.
fn in_tree(rel: &str) -> Option<Entry> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if p.is_dir() {
        Some(Entry::Folder)
    } else if p.is_file() {
        let bytes = std::fs::read(&p).unwrap();
        Some(Entry::File(String::from_utf8_lossy(&bytes).into_owned()))
    } else {
        None
    }
}

#[test]
fn every_path_and_symbol_the_map_names_is_in_the_tree() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let got = check(&doc, &in_tree);
    assert!(
        got.claims >= CLAIMS_AT_LEAST,
        "the map's reader checked {} steps `a.rs:f` → `b.rs:g`, fewer than {CLAIMS_AT_LEAST}: it stopped seeing them",
        got.claims
    );
    assert!(
        got.stale.is_empty(),
        "ARCHITECTURE.md names what is not there ({} stale):\n{}",
        got.stale.len(),
        got.stale.join("\n")
    );
    assert!(
        got.paths >= AT_LEAST.0 && got.symbols >= AT_LEAST.1,
        "the map's reader found {} paths and {} symbols, fewer than {} and {}: it stopped seeing them",
        got.paths,
        got.symbols,
        AT_LEAST.0,
        AT_LEAST.1
    );
}

/// The methods of `trait name` in `text`, each with whether it has a
/// default body (its signature ends in `{`, not `;`).
fn trait_methods(text: &str, name: &str) -> Vec<(String, bool)> {
    let mut out = vec![];
    let Some(start) = text.find(&format!("trait {name}")) else {
        return out;
    };
    let Some(body) = fn_body_at(&text[start..]) else {
        return out;
    };
    let mut rest = &body[1..];
    let mut depth = 0usize;
    while let Some(i) = rest.find(['{', '}', 'f']) {
        let c = rest.as_bytes()[i];
        if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth = depth.saturating_sub(1);
        } else if depth == 0
            && rest[i..].starts_with("fn ")
            && (i == 0 || !is_ident_byte(rest.as_bytes()[i - 1]))
        {
            let sig = &rest[i + 3..];
            let fname: String = sig
                .bytes()
                .take_while(|b| is_ident_byte(*b))
                .map(char::from)
                .collect();
            let ends = sig.find(['{', ';']).unwrap_or(sig.len());
            out.push((fname, sig[ends..].starts_with('{')));
        }
        rest = &rest[i + 1..];
    }
    out
}

/// From the first `{` of `text` to the brace that closes it.
fn fn_body_at(text: &str) -> Option<&str> {
    let open = text.find('{')?;
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[open..open + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Trace 3's claim about the forge traits: each method it names as having
/// a default has one in `ForgeReads` or `ForgeWrites`, and a method it
/// does not name may be required.
#[test]
fn the_maps_defaults_of_the_forge_traits_are_the_traits_own() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(top.join("ARCHITECTURE.md")).unwrap();
    let lib = std::fs::read_to_string(top.join("crates/afk-forge/src/lib.rs")).unwrap();
    let methods: Vec<(String, bool)> = ["ForgeReads", "ForgeWrites"]
        .iter()
        .flat_map(|t| trait_methods(&lib, t))
        .collect();
    assert!(methods.len() > 20, "{methods:?}");
    let line = doc
        .lines()
        .find(|l| l.contains("one with a default ("))
        .expect("trace 3 names the traits' defaults");
    let named = line.split("one with a default (").nth(1).unwrap();
    let named = named.split(')').next().unwrap();
    let names: Vec<&str> = named.split('`').skip(1).step_by(2).collect();
    assert!(!names.is_empty(), "{line}");
    for n in names {
        let found = methods.iter().find(|(m, _)| m == n);
        assert_eq!(
            found.map(|(_, d)| *d),
            Some(true),
            "ARCHITECTURE.md says `{n}` has a default in the forge traits: {methods:?}"
        );
    }
    // and the reader of the traits tells a default from a required method
    let t = "pub trait T {\n    fn a(&self) -> u8;\n    fn b(&self) -> u8 {\n        1\n    }\n    fn c(&self, x: Vec<u8>)\n        -> u8;\n}\n";
    assert_eq!(
        trait_methods(t, "T"),
        [("a".into(), false), ("b".into(), true), ("c".into(), false)]
    );
}

#[test]
fn the_reader_tells_a_path_from_a_command_a_key_and_a_url() {
    let cases = [
        ("core/gate.rs:judge", Some(("core/gate.rs", "judge"))),
        (
            "session.rs:Session::open_tick",
            Some(("session.rs", "Session::open_tick")),
        ),
        ("ops/watch/", Some(("ops/watch/", ""))),
        ("session.rs", Some(("session.rs", ""))),
        ("examples/afk.toml", Some(("examples/afk.toml", ""))),
        (
            "docs/reviews.md#commands",
            Some(("docs/reviews.md#commands", "")),
        ),
        ("commands/<name>.rs", Some(("commands/<name>.rs", ""))),
        ("tick.rs:run(ctx, TickKind::Poll)", Some(("tick.rs", "run"))),
        (
            "tick.rs:Event { first: begins }",
            Some(("tick.rs", "Event")),
        ),
        ("afk __box /dev/fd/N --record RUN_DIR", None),
        ("https://example.com/a.md", None),
        (".github/workflows/**", None),
        ("gate.max_files", None),
        ("/repos/o/r/pulls", None),
        ("/etc", None),
        ("refs/afk/runs/<run>/gated-<turn>", None),
        ("owner/name", None),
        ("gate.md", None),
        ("metered.jsonl", None),
        ("runner::kubernetes::kind_of", None),
        ("<state dir>/<kind>.lock", None),
        ("Result<Outcome>", None),
        // a path then other words, with no symbol, is a sentence
        ("core/gate.rs judges", None),
    ];
    for (span, want) in cases {
        assert_eq!(path_of(span), want, "{span}");
    }
    assert_eq!(template_folder("ops/<tick>/mod.rs"), "ops/");
    assert_eq!(template_folder("ops/<tick>"), "ops/");
    assert_eq!(template_folder("<kind>.rs"), "");
    assert_eq!(template_folder("ops/poll/mod.rs"), "ops/poll/mod.rs");
    assert_eq!(anchor_of(" The change gate"), "the-change-gate");
    assert_eq!(
        anchor_of("Talking to afk: reviews, commands"),
        "talking-to-afk-reviews-commands"
    );
}

#[test]
fn a_stale_name_in_a_made_up_map_fails() {
    let tree = |rel: &str| -> Option<Entry> {
        let file = |t: &str| Some(Entry::File(t.to_string()));
        match rel {
            "src/" | "src/ops/" | "src/ops/watch/" | "crates/afk-core/src/" | "docs/" => {
                Some(Entry::Folder)
            }
            "src/ops/watch" => Some(Entry::Folder),
            "src/session.rs" => file(
                "pub struct Session;\nimpl Session {\n    pub fn open_tick(&self) {\n        judge()\n    }\n    pub fn close(&self) {}\n}\n// fn closed_tick\n",
            ),
            "src/ops/watch/mod.rs" => file("pub fn watch() {}\n"),
            "src/ops/mod.rs" => file("pub enum Scope {\n    Repo(String),\n    All,\n}\n"),
            "crates/afk-core/src/gate.rs" => file(
                "pub const UNDO: &str = \"\";\npub fn judge() {}\npub enum Unread {\n    TooMany { n: usize },\n}\nnamed_enum! {\n    Kind { A => \"a\" }\n}\n",
            ),
            "crates/afk-core/src/lib.rs" => file("pub mod gate;\n"),
            "docs/security.md" => file("# Security\n\n### The change gate\n"),
            _ => None,
        }
    };
    // the legend is not read
    let legend = "# How\n`core/x.rs` is `crates/afk-core/src/x.rs`, `a.rs:f`\n";
    let good = format!(
        "{legend}## Map\n\
         | afk-core | `gate.rs` (`UNDO`), `lib.rs` |\n\
         1. `session.rs:Session::open_tick` → `core/gate.rs:judge`, `core/gate.rs:UNDO`, `core/gate.rs:TooMany`, `core/gate.rs:Kind`.\n\
         2. `ops/watch/` (`mod.rs`), `ops/<tick>` (`mod.rs:Scope`), `ops/mod.rs:Scope`.\n\
         3. `docs/security.md#the-change-gate`, `src/ops/watch`, `gate.max_files`, `afk hook /dev/stdin`.\n"
    );
    let got = check(&good, &tree);
    assert!(got.stale.is_empty(), "{:?}", got.stale);
    // paths: the row's crate, gate.rs, lib.rs, session.rs, 4× core/gate.rs,
    // ops/watch/, mod.rs, ops/<tick>, mod.rs:Scope, ops/mod.rs:Scope,
    // docs/security.md, src/ops/watch; symbols: open_tick, judge, UNDO,
    // TooMany, Kind, 2× Scope, #the-change-gate
    assert_eq!((got.paths, got.symbols), (15, 8));
    // the one step `Session::open_tick` → `judge`, whose body names it
    assert_eq!(got.claims, 1);

    let stale = [
        // a file gone
        "`core/gone.rs`",
        // a file that became a folder
        "`ops/watch.rs`",
        // a name ending in `/` that is a file
        "`session.rs/`",
        // a function renamed
        "`core/gate.rs:judged`",
        // a method on another type
        "`session.rs:Tick::open_tick`",
        // a method gone from its type
        "`session.rs:Session::closed_tick`",
        // a heading renamed
        "`docs/security.md#the-gate`",
        // a bare name under no folder named before it
        "`gate.rs`",
        // a prefix of WHERE is looked for there only
        "`core/session.rs`",
        // a symbol on a folder
        "`ops/watch/:watch`",
        // a map row whose crate is gone
        "| afk-gone | `x` |",
        // a step whose function does not name the next one
        "`session.rs:Session::close` → `core/gate.rs:judge`",
    ];
    for s in stale {
        let doc = format!("{legend}## Map\n{s}\n");
        let got = check(&doc, &tree);
        assert_eq!(got.stale.len(), 1, "{s}: {:?}", got.stale);
        assert!(
            got.stale[0].starts_with("ARCHITECTURE.md:4: "),
            "{:?}",
            got.stale
        );
    }
}
