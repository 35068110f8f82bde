//! Rooms a person can live in (Structure VI, item 5): no production file
//! over [`MOST`] lines without its reason at its top, one line beginning
//! `// One file:` that says what keeps it whole (most often: its rules and
//! the table tests that pin them, kept beside them). A reason that counts
//! its file (`~N lines`) counts it within [`DRIFT`] lines.

use std::path::{Path, PathBuf};

/// Lines a file may have without saying why.
const MOST: usize = 800;

/// How far a reason's `~N lines` may be from the lines it counts.
const DRIFT: usize = 100;

/// A file's lines and whether its first line gives its reason.
fn over(text: &str) -> Option<usize> {
    let lines = text.lines().count();
    let said = text
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("// One file:"));
    (lines > MOST && !said).then_some(lines)
}

/// The `N` of a reason's `~N lines` (`~1,000 lines` is 1000), if it counts.
fn stated(reason: &str) -> Option<usize> {
    let from = &reason[reason.find('~')? + 1..];
    let number = from
        .find(|c: char| !(c.is_ascii_digit() || c == ','))
        .map_or(from, |end| &from[..end]);
    if !from[number.len()..].starts_with(" lines") {
        return None;
    }
    number.replace(',', "").parse().ok()
}

/// The lines a reason counts: the file's code, every line but its
/// `#[cfg(test)]` items (a tests module, wherever it sits; a test-only helper).
fn counted(text: &str) -> usize {
    super::production_lines(text).len()
}

/// A reason whose `~N lines` is more than [`DRIFT`] from what it counts:
/// (N, the lines counted).
fn drifted(text: &str) -> Option<(usize, usize)> {
    let reason = text.lines().next()?.strip_prefix("// One file:")?;
    let n = stated(reason)?;
    let lines = counted(text);
    (n.abs_diff(lines) > DRIFT).then_some((n, lines))
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
fn a_reason_counts_its_lines_within_100() {
    let code = |n: usize| "x\n".repeat(n);
    let tests = "#[cfg(test)]\nmod tests {\n".to_string() + &"t\n".repeat(500) + "}\n";
    let cases = [
        // the reason line is counted, the tests are not
        (
            format!("// One file: a (~300 lines) b\n{}{tests}", code(299)),
            None,
        ),
        (
            format!("// One file: a (~300 lines) b\n{}{tests}", code(399)),
            None,
        ),
        (
            format!("// One file: a (~300 lines) b\n{}{tests}", code(400)),
            Some((300, 401)),
        ),
        (
            format!("// One file: a (~300 lines) b\n{}{tests}", code(198)),
            Some((300, 199)),
        ),
        // a one-line `mod tests;` at the top: what follows it counts
        (
            format!(
                "// One file: a (~300 lines) b\n#[cfg(test)]\nmod tests;\n{}",
                code(399)
            ),
            None,
        ),
        (
            format!(
                "// One file: a (~300 lines) b\n#[cfg(test)]\nmod tests;\n{}",
                code(400)
            ),
            Some((300, 401)),
        ),
        // a thousands separator; no tests: every line counts
        (
            format!("// One file: a (~1,000 lines) b\n{}", code(1200)),
            Some((1000, 1201)),
        ),
        (
            format!("// One file: a (~1,000 lines) b\n{}", code(1000)),
            None,
        ),
        // a reason that gives no count, a `~` that is no count
        (format!("// One file: a\n{}", code(2000)), None),
        (
            format!("// One file: ~about it, 10 lines\n{}", code(2000)),
            None,
        ),
        // only the reason line's count
        (format!("//! doc (~10 lines)\n{}", code(2000)), None),
    ];
    for (text, want) in cases {
        assert_eq!(drifted(&text), want, "{}", text.lines().next().unwrap());
    }
    assert_eq!(stated(" the rules (~450 lines) and"), Some(450));
    assert_eq!(stated(" the rules (~1,036 lines)"), Some(1036));
    assert_eq!(stated(" the rules (~450 rows)"), None);
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
    let mut miscounted = vec![];
    for f in files {
        // a folder module's tests file is its tests, not a room
        if f.file_name().is_some_and(|n| n == "tests.rs") || super::is_layers(&f) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.strip_prefix(root).unwrap_or(&f).display();
        if let Some(n) = over(&text) {
            long.push(format!("{name} ({n} lines)"));
        }
        if let Some((n, lines)) = drifted(&text) {
            miscounted.push(format!("{name} (says ~{n} lines, has {lines})"));
        }
    }
    assert!(
        long.is_empty(),
        "over {MOST} lines with no `// One file:` reason at the top: {long:?}"
    );
    assert!(
        miscounted.is_empty(),
        "a `// One file:` reason's `~N lines` more than {DRIFT} from its lines outside `#[cfg(test)]` items: {miscounted:?}"
    );
}
