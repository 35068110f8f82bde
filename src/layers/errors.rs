//! afk's errors are typed (`CommandError`, the forge's `Failure`, the
//! gate's `Unreadable`, …): a kind the exit-code table and the hints can
//! read. A `Result<_, String>` loses both, so production code holds at most
//! [`MOST`] of them, each where a string is the value (a reason shown as it
//! is, an OS's words quoted), with a comment just above it that starts
//! `Err is a string:` and says why.

use super::sinks::production_files;
use std::path::Path;

/// The most `Result<_, String>` production code may hold.
const MOST: usize = 15;

/// How many lines above a `Result<_, String>` its comment may stand.
const ABOVE: usize = 4;

/// The top-level type arguments of the generic whose `<` is at `open` in
/// `line` (None when it does not close on this line).
fn arguments(line: &str, open: usize) -> Option<Vec<&str>> {
    let mut depth = 0usize;
    let mut args = vec![];
    let mut from = open + 1;
    for (i, c) in line.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => {
                depth -= 1;
                if depth == 0 {
                    args.push(line[from..i].trim());
                    return Some(args);
                }
            }
            ',' if depth == 1 => {
                args.push(line[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// How many `Result<_, String>` a production line holds.
fn string_errors(line: &str) -> usize {
    line.match_indices("Result<")
        .filter(|(at, _)| {
            let open = at + "Result".len();
            arguments(line, open).is_some_and(|a| a.len() == 2 && a[1] == "String")
        })
        .count()
}

#[test]
fn production_code_holds_few_string_errors_each_saying_why() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = vec![];
    let mut unexplained = vec![];
    for (file, lines) in production_files() {
        let raw: Vec<String> = std::fs::read_to_string(root.join(&file))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        for (n, line) in &lines {
            let count = string_errors(line);
            if count == 0 {
                continue;
            }
            found.extend(std::iter::repeat_n(format!("{file}:{n}"), count));
            let said = raw[n.saturating_sub(ABOVE + 1)..n - 1]
                .iter()
                .any(|l| l.contains("Err is a string:"));
            if !said {
                unexplained.push(format!("{file}:{n}"));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "a Result<_, String> with no `// Err is a string: …` comment above it saying why a string is the value (else return a typed error):\n{}",
        unexplained.join("\n")
    );
    assert!(
        found.len() <= MOST,
        "{} Result<_, String> in production code, at most {MOST}: return a typed error (a kind the exit-code table and the hints can read):\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_scan_finds_a_string_error_and_not_another_result() {
    let cases: [(&str, usize); 7] = [
        ("fn f() -> Result<(), String> {", 1),
        (
            "fn f() -> std::result::Result<(u16, Duration), String> {",
            1,
        ),
        ("x: OnceLock<Result<IdTable, String>>,", 1),
        ("fn f() -> Result<String, String> {", 1),
        ("fn f() -> Result<String> {", 0),
        ("fn f() -> Result<Vec<String>, Invalid> {", 0),
        (
            "fn f(a: Result<(), String>) -> Result<Vec<(u8, String)>, String> {",
            2,
        ),
    ];
    for (line, want) in cases {
        assert_eq!(string_errors(line), want, "{line}");
    }
}
