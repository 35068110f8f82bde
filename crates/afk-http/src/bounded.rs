//! An answer's body read incrementally with fixed caps, so a tick's memory
//! never grows with what someone else wrote (docs/security.md, "Bounded").
//!
//! Any reader of a repository can write an item of a list afk reads (a
//! comment, a PR, a review), and a forge keeps text far larger than any real
//! one. One oversized item must not make the whole list unreadable — a
//! trusted `/afk stop` among a reader's spam is still heard — so the items of
//! a list (the top-level array, or an array that is a member of the
//! top-level object, as GitHub's `check_runs`) are kept whole or skipped
//! whole: an item over [`ITEM_CAP`] is skipped and counted, and so is every
//! item once the kept body reaches [`LIST_CAP`]. Everything else of a body
//! (a single object, a text answer) over [`OTHER_CAP`] makes the answer
//! unreadable: one clear error, never partial data.
//!
//! The body is scanned byte by byte as JSON's grammar nests (strings and
//! their escapes, brackets); a body that is not JSON passes through under
//! [`OTHER_CAP`] and its parser says what is wrong.

use std::io::Read;

/// The largest list item kept: far above a real one (GitHub caps a
/// comment's or PR's text at 65,536 characters, at most about 256 KB of
/// UTF-8), far below what fills a tick's memory.
pub const ITEM_CAP: usize = 256 << 10;
/// The most of a list page kept (a GitHub page of 100 items at
/// [`ITEM_CAP`] is 25 MiB): items beyond it are skipped and counted.
pub const LIST_CAP: usize = 32 << 20;
/// The most of a body outside list items (a single object, a diff).
pub const OTHER_CAP: usize = 8 << 20;

/// A body as it was kept.
#[derive(Debug, PartialEq)]
pub struct Kept {
    pub body: String,
    /// list items left out (each over [`ITEM_CAP`], or past [`LIST_CAP`])
    pub skipped: usize,
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum Unread {
    /// more than [`OTHER_CAP`] outside list items
    TooBig,
    /// not UTF-8
    NotText,
    Io(std::io::Error),
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unread::TooBig => write!(
                f,
                "the answer is over {} MiB outside its list items; not read",
                OTHER_CAP >> 20
            ),
            Unread::NotText => write!(f, "the answer is not UTF-8 text"),
            Unread::Io(e) => write!(f, "reading the body: {e}"),
        }
    }
}

/// At most `cap` bytes of `r` as text (lossy), for an error's body: what a
/// refusal says is only ever quoted, shortened.
pub fn read_short(r: impl Read, cap: usize) -> String {
    let mut buf = Vec::new();
    let _ = r.take(cap as u64).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Read `r` to its end, keeping what the caps allow.
pub fn read(mut r: impl Read) -> Result<Kept, Unread> {
    let mut scan = Scan::default();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Unread::Io(e)),
        };
        for &b in &chunk[..n] {
            scan.byte(b)?;
        }
    }
    scan.finish()
}

/// Where the scan is: the output so far, the item being read, JSON's nesting.
#[derive(Default)]
struct Scan {
    out: Vec<u8>,
    /// bytes of `out` that are not list items
    other: usize,
    skipped: usize,
    /// open brackets, counting the list's own
    depth: usize,
    in_str: bool,
    esc: bool,
    /// the depth just inside the list whose items are filtered
    list: Option<usize>,
    /// items of that list kept so far
    kept: usize,
    item: Vec<u8>,
    /// the item being read is over the cap: dropped as it streams by
    dropping: bool,
    /// the first byte of the body that is not white space
    top: Option<u8>,
}

impl Scan {
    fn byte(&mut self, b: u8) -> Result<(), Unread> {
        if self.top.is_none() && !b.is_ascii_whitespace() {
            self.top = Some(b);
        }
        match self.list {
            Some(inner) if self.depth > inner || self.in_str || self.item_open() => {
                self.item_byte(b, inner)
            }
            Some(inner) if self.depth == inner => self.between_items(b),
            _ => self.other_byte(b),
        }
    }

    /// Inside an item: nothing of it is known yet but its size.
    fn item_open(&self) -> bool {
        !self.item.is_empty() || self.dropping
    }

    fn item_byte(&mut self, b: u8, inner: usize) -> Result<(), Unread> {
        if !self.in_str && self.depth == inner && (b == b',' || b == b']') {
            self.end_item();
            return self.between_items(b);
        }
        self.nest(b);
        if !self.dropping {
            if self.item.len() >= ITEM_CAP {
                self.dropping = true;
                self.item = Vec::new();
            } else {
                self.item.push(b);
            }
        }
        Ok(())
    }

    /// Between items: separators, white space, the list's end, or the first
    /// byte of the next item.
    fn between_items(&mut self, b: u8) -> Result<(), Unread> {
        match b {
            b',' => self.end_item(),
            b']' => {
                self.end_item();
                self.list = None;
                self.depth -= 1;
                self.push_other(b)?;
            }
            _ if b.is_ascii_whitespace() => {}
            _ => {
                self.nest(b);
                self.item.push(b);
            }
        }
        Ok(())
    }

    fn end_item(&mut self) {
        let item = std::mem::take(&mut self.item);
        if self.dropping {
            self.dropping = false;
            self.skipped += 1;
        } else if !item.is_empty() {
            if self.out.len() + item.len() + 1 > LIST_CAP {
                self.skipped += 1;
                return;
            }
            if self.kept > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(&item);
            self.kept += 1;
        }
    }

    fn other_byte(&mut self, b: u8) -> Result<(), Unread> {
        let opens_list = !self.in_str
            && b == b'['
            && (self.depth == 0 || (self.depth == 1 && self.top == Some(b'{')));
        self.nest(b);
        self.push_other(b)?;
        if opens_list {
            self.list = Some(self.depth);
            self.kept = 0;
        }
        Ok(())
    }

    fn push_other(&mut self, b: u8) -> Result<(), Unread> {
        self.other += 1;
        if self.other > OTHER_CAP {
            return Err(Unread::TooBig);
        }
        self.out.push(b);
        Ok(())
    }

    /// Follow JSON's nesting: strings with their escapes, then brackets.
    fn nest(&mut self, b: u8) {
        if self.in_str {
            if self.esc {
                self.esc = false;
            } else if b == b'\\' {
                self.esc = true;
            } else if b == b'"' {
                self.in_str = false;
            }
            return;
        }
        match b {
            b'"' => self.in_str = true,
            b'[' | b'{' => self.depth += 1,
            b']' | b'}' => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
    }

    fn finish(mut self) -> Result<Kept, Unread> {
        if self.list.is_some() {
            // a list cut short: what was read of it, for the parser to refuse
            let item = std::mem::take(&mut self.item);
            self.out.extend_from_slice(&item);
        }
        let body = String::from_utf8(self.out).map_err(|_| Unread::NotText)?;
        Ok(Kept {
            body,
            skipped: self.skipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(s: &str) -> (String, usize) {
        let k = read(s.as_bytes()).unwrap();
        (k.body, k.skipped)
    }

    #[test]
    fn an_item_over_the_cap_is_skipped_and_counted_and_the_rest_kept_as_written() {
        let big = "y".repeat(ITEM_CAP + 1);
        let cases: Vec<(String, String, usize)> = vec![
            ("[]".into(), "[]".into(), 0),
            (" [ 1 , 2 ] ".into(), " [1 ,2 ] ".into(), 0),
            (
                r#"[{"a":"]"},{"b":[1,{"c":"x\"]"}]}]"#.into(),
                r#"[{"a":"]"},{"b":[1,{"c":"x\"]"}]}]"#.into(),
                0,
            ),
            (
                format!(r#"[{{"body":"{big}"}},{{"body":"/afk stop"}}]"#),
                r#"[{"body":"/afk stop"}]"#.into(),
                1,
            ),
            (
                format!(r#"[{{"body":"ok"}},"{big}",{{"body":"{big}"}}]"#),
                r#"[{"body":"ok"}]"#.into(),
                2,
            ),
            (
                format!(r#"{{"total_count":2,"check_runs":[{{"x":"{big}"}},{{"n":1}}]}}"#),
                r#"{"total_count":2,"check_runs":[{"n":1}]}"#.into(),
                1,
            ),
            // an array nested in an item is the item's, never filtered itself
            (format!(r#"[{{"labels":["{big}"]}},2]"#), "[2]".into(), 1),
            (
                r#"{"a":{"b":[1,2]}}"#.into(),
                r#"{"a":{"b":[1,2]}}"#.into(),
                0,
            ),
            ("\"[not a list\"".into(), "\"[not a list\"".into(), 0),
            ("diff --git a b".into(), "diff --git a b".into(), 0),
        ];
        for (input, want, skipped) in cases {
            let (body, n) = kept(&input);
            assert_eq!(
                (body.as_str(), n),
                (want.as_str(), skipped),
                "{}",
                &input[..input.len().min(60)]
            );
        }
    }

    #[test]
    fn a_list_is_kept_up_to_its_cap_and_counted_beyond() {
        let item = format!("\"{}\"", "z".repeat(ITEM_CAP - 8));
        let n = LIST_CAP / item.len() + 3;
        let input = format!("[{}]", vec![item.as_str(); n].join(","));
        let k = read(input.as_bytes()).unwrap();
        assert!(k.body.len() <= LIST_CAP, "{}", k.body.len());
        assert!(k.skipped >= 3, "{}", k.skipped);
        let v: Vec<String> = serde_json::from_str(&k.body).unwrap();
        assert_eq!(v.len() + k.skipped, n);
    }

    #[test]
    fn a_body_over_the_cap_outside_list_items_is_refused_whole() {
        let single = format!(r#"{{"body":"{}"}}"#, "x".repeat(OTHER_CAP));
        assert!(matches!(read(single.as_bytes()), Err(Unread::TooBig)));
        let text = "t".repeat(OTHER_CAP + 1);
        assert!(matches!(read(text.as_bytes()), Err(Unread::TooBig)));
        assert!(matches!(read(&b"[\"\xff\"]"[..]), Err(Unread::NotText)));
    }

    #[test]
    fn a_short_read_keeps_at_most_its_cap() {
        assert_eq!(read_short("abcdef".as_bytes(), 3), "abc");
    }
}
