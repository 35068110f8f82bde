//! Where a key is written in the config text, and the one-line errors that
//! name it: "config: table.key at line N: problem".

use anyhow::Result;
use std::fmt;
use std::time::Duration;

use super::{cfg_err, format_duration};

/// A serde message in the words of the config file, not Rust's: `invalid
/// type: string "many", expected usize` reads `... expected a whole number`.
pub(super) fn humane(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected usize", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u8", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a table"),
        ("invalid type: sequence", "invalid type: list"),
        ("invalid type: map", "invalid type: table"),
        ("invalid type: boolean", "invalid type: true/false"),
        ("invalid type: floating point", "invalid type: number"),
        ("invalid type: integer", "invalid type: number"),
    ];
    let mut m = message.to_string();
    for (rust, words) in WORDS {
        m = m.replace(rust, words);
    }
    // `expected struct HeartbeatEnvs` and the like: a table
    if let Some(i) = m.find("expected struct ") {
        m.replace_range(i.., "expected a table");
    }
    // "invalid value: integer `-1`, expected a whole number"
    m
}

/// The table named by a `[table]` header line.
pub(super) fn header_name(line: &str) -> String {
    line.trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The key assigned on `line` (`key = ...`), if the line is an assignment.
pub(super) fn assigned_key(line: &str) -> Option<&str> {
    let (lhs, _) = line.split_once('=')?;
    let lhs = lhs.trim();
    for q in ['"', '\''] {
        if let Some(inner) = lhs.strip_prefix(q).and_then(|l| l.strip_suffix(q)) {
            return (!inner.contains(q)).then_some(inner);
        }
    }
    let bare = !lhs.is_empty()
        && lhs
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    bare.then_some(lhs)
}

/// The 1-based line where `key` is assigned inside `[table]` (or at top level).
pub(super) fn find_key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            current = header_name(line);
            if current == table.to_string() + "." + key || (table.is_empty() && current == key) {
                return Some(i + 1);
            }
            continue;
        }
        if current == table && assigned_key(line) == Some(key) {
            return Some(i + 1);
        }
    }
    None
}

/// The dotted key (`runner.stall_after`) whose value covers byte `offset`:
/// the last key assigned at or before that line, in its table.
pub(super) fn key_at_offset(text: &str, offset: usize) -> Option<String> {
    let mut table = String::new();
    let mut key: Option<String> = None;
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        if start > offset {
            break;
        }
        start += raw.len();
        let line = raw.trim();
        if line.starts_with('[') {
            table = header_name(line);
            key = None;
        } else if let Some(k) = assigned_key(line) {
            key = Some(k.to_string());
        }
    }
    let key = key?;
    Some(if table.is_empty() {
        key
    } else {
        format!("{table}.{key}")
    })
}

pub(super) fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Builds "config: table.key at line N: problem" errors for one config text.
pub(super) struct Checker<'a> {
    pub(super) text: &'a str,
}

impl Checker<'_> {
    pub(super) fn err(&self, table: &str, key: &str, problem: impl fmt::Display) -> anyhow::Error {
        let line = find_key_line(self.text, table, key)
            .map(|l| format!(" at line {l}"))
            .unwrap_or_default();
        let name = if table.is_empty() {
            key.to_string()
        } else {
            format!("{table}.{key}")
        };
        cfg_err(format!("config: {name}{line}: {problem}"))
    }

    /// `lo <= v <= hi` for a duration.
    pub(super) fn duration(
        &self,
        table: &str,
        key: &str,
        v: Duration,
        lo: Duration,
        hi: Duration,
    ) -> Result<()> {
        if v < lo || v > hi {
            return Err(self.err(
                table,
                key,
                format!(
                    "\"{}\" is out of range (from \"{}\" to \"{}\")",
                    format_duration(v),
                    format_duration(lo),
                    format_duration(hi)
                ),
            ));
        }
        Ok(())
    }

    /// `ok(v)` for a number, else "`v` must be `rule`".
    pub(super) fn number<T: PartialOrd + fmt::Display + Copy>(
        &self,
        table: &str,
        key: &str,
        v: T,
        ok: impl Fn(T) -> bool,
        rule: &str,
    ) -> Result<()> {
        if ok(v) {
            Ok(())
        } else {
            Err(self.err(table, key, format!("{v} must be {rule}")))
        }
    }
}
