//! No code cites the product spec by its section numbers: a reader of the
//! repository cannot open it. A comment, a message or a test says the rule
//! in its own words, or names the page of `docs/` or the test that pins it.
//! The scan reads every Rust file of the workspace for the spec's name in
//! capitals, as a whole word, followed by a number: after spaces, `§` or
//! `'s`, also across a line break into the next comment line, the number
//! after its `//`, `///`, `//!` or `*`. A name that merely holds the word
//! (`…_VAR`, `AFK_GATEWAY_…`) is an identifier, not a citation.

use std::path::{Path, PathBuf};

/// The word looked for, built so that this file never names it.
const WORD: &str = concat!("SP", "EC");

/// The folders whose Rust files are read (one that does not exist is
/// skipped); a `target` folder inside them is left out.
const FOLDERS: [&str; 5] = ["crates", "src", "tests", "examples", "benches"];

fn all_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target") {
                all_rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Whether `b` may be part of an identifier.
fn ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a number follows at `k`, past spaces, `§`, `'s` and line breaks,
/// each break with the next line's indentation and its comment marker
/// (`//`, `///`, `//!` or a block comment's `*`).
fn number_follows(b: &[u8], mut k: usize) -> bool {
    let section = "§".as_bytes();
    loop {
        match b.get(k).copied() {
            Some(c) if c.is_ascii_digit() => return true,
            Some(b' ' | b'\t') => k += 1,
            Some(b'\'') if b.get(k + 1).copied() == Some(b's') => k += 2,
            Some(b'\r' | b'\n') => {
                k += 1;
                while matches!(b.get(k).copied(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                    k += 1;
                }
                if b[k..].starts_with(b"//") {
                    k += 2;
                    if matches!(b.get(k).copied(), Some(b'/' | b'!')) {
                        k += 1;
                    }
                } else if b.get(k).copied() == Some(b'*') {
                    k += 1;
                }
            }
            Some(_) if b[k..].starts_with(section) => k += section.len(),
            _ => return false,
        }
    }
}

/// The byte offsets in `text` of each citation: the word, whole, and a
/// number after it.
fn citations(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = vec![];
    let mut from = 0;
    while let Some(i) = text[from..].find(WORD) {
        let at = from + i;
        let end = at + WORD.len();
        from = end;
        let whole = (at == 0 || !ident(b[at - 1])) && b.get(end).is_none_or(|c| !ident(*c));
        if whole && number_follows(b, end) {
            out.push(at);
        }
    }
    out
}

#[test]
fn no_code_cites_the_spec_by_number() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    for dir in FOLDERS {
        all_rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 100,
        "the walk found only {} Rust files",
        files.len()
    );
    let mut found = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for at in citations(&text) {
            let line = text[..at].matches('\n').count() + 1;
            let rel = f.strip_prefix(root).unwrap_or(f.as_path());
            found.push(format!("{}:{line}", rel.display()));
        }
    }
    assert!(
        found.is_empty(),
        "code cites the product spec by number, which a reader of the repository cannot open; say the rule in its own words, or name the docs page or the test that pins it:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_citation_scanner_finds_a_number_after_the_word_and_skips_identifiers() {
    // `@` stands for the word in these planted texts
    let planted = |s: &str| s.replace('@', WORD);
    let found = |s: &str| citations(&planted(s)).len();
    assert_eq!(found("    // @ 2.2.16: exactly sourceRefName\n"), 1);
    assert_eq!(found("/// the forge's merge (@ 5.9.3).\n"), 1);
    assert_eq!(found("/// @'s 4.2 and @ § 7.3 and @§4\n"), 3);
    // broken across a comment's lines, in each comment style
    assert_eq!(
        found("    /// the merge operation (@\n    /// 2.2.23): asked\n"),
        1
    );
    assert_eq!(found("//! a module (@\n//! 10.3.6-7)\n"), 1);
    assert_eq!(found("// a line (@\r\n// 4.2)\n"), 1);
    assert_eq!(found("/* a block (@\n * 7.3) */\n"), 1);
    // the line it is on
    let text = planted("fn f() {}\n\n/// (@ 1.2)\n");
    let at = citations(&text)[0];
    assert_eq!(text[..at].matches('\n').count() + 1, 3);
    // identifiers, words and other numbers are no citation
    assert_eq!(found("pub const @_VAR: &str = \"AFK_GATEWAY_@\";\n"), 0);
    assert_eq!(found("const @_MAX: u64 = 1 << 20; // @_MAX 1\n"), 0);
    assert_eq!(found("let v6 = Ipv6Addr::UN@IFIED; @2 @s 3\n"), 0);
    assert_eq!(
        found("/// `afk __box @ --record RUN_DIR`, @ alone\n/// 2 lines\n"),
        0
    );
    assert_eq!(found("/// the box's @\nfn f() -> u8 { 1 }\n"), 0);
    assert_eq!(found("/// the spec 4.2, Spec 5.9\n"), 0);
}
