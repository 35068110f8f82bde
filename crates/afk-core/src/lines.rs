//! Splitting a stream someone else writes (an agent's log, a pod log) into
//! lines with a fixed cap: memory stays at most `max` bytes whatever the
//! stream holds, a line longer than that is passed over (its first bytes
//! kept, so a timestamp in front can still be read) and counted, and a last
//! line without its newline is told apart (it may be torn: the rest comes
//! later).

/// One line as the splitter hands it on.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A whole line, without its `\n` (a `\r` before it is dropped too).
    Whole(&'a [u8]),
    /// A line over the cap: passed over; its first [`HEAD`] bytes.
    Over(&'a [u8]),
}

/// How many bytes of a line over the cap are kept (its timestamp, if any).
pub const HEAD: usize = 64;

/// Feeds chunks, hands on lines. The only memory it holds is the line in
/// progress, never more than `max` bytes.
#[derive(Debug)]
pub struct BoundedLines {
    max: usize,
    buf: Vec<u8>,
    /// the line in progress is over the cap: its head is kept, the rest dropped
    over: bool,
    /// lines passed over so far
    pub skipped: u64,
}

impl BoundedLines {
    pub fn new(max: usize) -> BoundedLines {
        BoundedLines {
            max: max.max(HEAD),
            buf: Vec::new(),
            over: false,
            skipped: 0,
        }
    }

    /// Split `chunk`, calling `each` for every line it completes.
    pub fn feed(&mut self, mut chunk: &[u8], each: &mut dyn FnMut(Line)) {
        while !chunk.is_empty() {
            let (part, rest, ends) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], &chunk[i + 1..], true),
                None => (chunk, &chunk[chunk.len()..], false),
            };
            chunk = rest;
            if !self.over {
                if self.buf.len() + part.len() > self.max {
                    let keep = HEAD.saturating_sub(self.buf.len()).min(part.len());
                    self.buf.extend_from_slice(&part[..keep]);
                    self.buf.truncate(HEAD);
                    self.over = true;
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            if ends {
                if self.over {
                    self.skipped += 1;
                    each(Line::Over(&self.buf));
                } else {
                    let line = self.buf.strip_suffix(b"\r").unwrap_or(&self.buf);
                    each(Line::Whole(line));
                }
                self.buf.clear();
                self.over = false;
            }
        }
    }

    /// The stream ended. A last line without its newline: `whole` says the
    /// stream is complete (the writer is done), so it counts as a line;
    /// otherwise it may be torn and is returned as the bytes held back (None
    /// when it was over the cap: nothing worth waiting for).
    pub fn finish(&mut self, whole: bool, each: &mut dyn FnMut(Line)) -> Option<usize> {
        if self.buf.is_empty() && !self.over {
            return Some(0);
        }
        let over = self.over;
        if whole || over {
            self.feed(b"\n", each);
            return (!over).then_some(0);
        }
        let held = self.buf.len();
        self.buf.clear();
        Some(held)
    }

    /// Whether a line is in progress and over the cap.
    pub fn in_over(&self) -> bool {
        self.over
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, chunks: &[&[u8]], whole: bool) -> (Vec<String>, u64, Option<usize>) {
        let mut s = BoundedLines::new(max);
        let mut out = vec![];
        let mut each = |l: Line| {
            out.push(match l {
                Line::Whole(b) => String::from_utf8_lossy(b).into_owned(),
                Line::Over(h) => format!("OVER[{}]", String::from_utf8_lossy(h)),
            })
        };
        for c in chunks {
            s.feed(c, &mut each);
        }
        let held = s.finish(whole, &mut each);
        (out, s.skipped, held)
    }

    #[test]
    fn bounded_lines_pass_over_what_is_longer_than_the_cap_and_hold_a_torn_end() {
        let long = "x".repeat(200);
        let long_line = format!("2026-01-01T00:00:00Z {long}\nok\n");
        let cases: Vec<(&str, Vec<&[u8]>, bool, Vec<String>, u64, Option<usize>)> = vec![
            (
                "plain lines",
                vec![b"a\nb\n"],
                false,
                vec!["a".into(), "b".into()],
                0,
                Some(0),
            ),
            (
                "a line across chunks",
                vec![b"ab", b"c\nd", b"e\n"],
                false,
                vec!["abc".into(), "de".into()],
                0,
                Some(0),
            ),
            (
                "a carriage return before the newline goes",
                vec![b"a\r\n"],
                false,
                vec!["a".into()],
                0,
                Some(0),
            ),
            (
                "a torn end is held back",
                vec![b"a\nbc"],
                false,
                vec!["a".into()],
                0,
                Some(2),
            ),
            (
                "a finished stream's end is a line",
                vec![b"a\nbc"],
                true,
                vec!["a".into(), "bc".into()],
                0,
                Some(0),
            ),
            (
                "a line over the cap keeps its head",
                vec![long_line.as_bytes()],
                false,
                vec![
                    format!("OVER[2026-01-01T00:00:00Z {}]", &long[..HEAD - 21]),
                    "ok".into(),
                ],
                1,
                Some(0),
            ),
            (
                "over the cap across chunks",
                vec![&long.as_bytes()[..100], &long.as_bytes()[100..], b"\nok\n"],
                false,
                vec![format!("OVER[{}]", &long[..HEAD]), "ok".into()],
                1,
                Some(0),
            ),
            (
                "an endless line over the cap is nothing to wait for",
                vec![long.as_bytes()],
                false,
                vec![format!("OVER[{}]", &long[..HEAD])],
                1,
                None,
            ),
        ];
        for (rule, chunks, whole, want, skipped, held) in cases {
            let (got, n, h) = split(128, &chunks, whole);
            assert_eq!(got, want, "{rule}");
            assert_eq!(n, skipped, "{rule}");
            assert_eq!(h, held, "{rule}");
        }
    }

    #[test]
    fn bounded_lines_hold_no_more_than_the_cap() {
        let mut s = BoundedLines::new(1024);
        let chunk = vec![b'z'; 64 * 1024];
        for _ in 0..64 {
            s.feed(&chunk, &mut |_| {});
            assert!(s.buf.capacity() <= 64 * 1024 + 1024, "{}", s.buf.capacity());
            assert!(s.buf.len() <= 1024);
        }
        assert!(s.in_over());
    }
}
