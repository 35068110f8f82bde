//! Rooms a person can live in (Structure VI, item 5): no production file
//! over [`MOST`] lines without its reason at its top, one line beginning
//! `// One file:` that says what keeps it whole (most often: its rules and
//! the table tests that pin them, kept beside them).

use std::path::{Path, PathBuf};

/// Lines a file may have without saying why.
const MOST: usize = 800;

/// A file's lines and whether its first line gives its reason.
fn over(text: &str) -> Option<usize> {
    let lines = text.lines().count();
    let said = text
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("// One file:"));
    (lines > MOST && !said).then_some(lines)
}

#[test]
fn a_file_over_800_lines_says_why_at_its_top() {
    let cases = [
        ("short\n".repeat(10), None),
        ("x\n".repeat(801), Some(801)),
        (format!("// One file: why\n{}", "x\n".repeat(900)), None),
        // the reason is the first line, not any line
        (
            format!("//! doc\n// One file: why\n{}", "x\n".repeat(900)),
            Some(902),
        ),
        ("x\n".repeat(800), None),
    ];
    for (text, want) in cases {
        assert_eq!(over(&text), want);
    }
}

#[test]
fn no_production_file_over_800_lines_without_its_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = vec![];
    super::rust_files(&root.join("src"), &mut files);
    for c in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        super::rust_files(&c.path().join("src"), &mut files);
    }
    let mut long = vec![];
    for f in files {
        // a folder module's tests file is its tests, not a room
        if f.file_name().is_some_and(|n| n == "tests.rs") || super::is_layers(&f) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        if let Some(n) = over(&text) {
            long.push(format!(
                "{} ({n} lines)",
                f.strip_prefix(root).unwrap_or(&f).display()
            ));
        }
    }
    assert!(
        long.is_empty(),
        "over {MOST} lines with no `// One file:` reason at the top: {long:?}"
    );
}
