//! Tag lists, read within bounds
//! (docs/configuration.md#bounds-on-a-registrys-answers): a page is streamed
//! through a reader that stops after MAX_PAGE_BYTES + 1 bytes, and parsed by a
//! visitor that keeps tags as they come and stops past `max_tags`; no page is
//! ever held whole, and no tag list grows past the bound.

use crate::MAX_PAGE_BYTES;
use crate::error::short;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::io::Read;

/// The longest tag kept: an OCI tag has at most 128 characters.
pub(crate) const MAX_TAG_LEN: usize = 128;
/// The longest string read in a tag list (tags, the repository's name); a
/// longer one is an error.
pub(crate) const MAX_STRING_BYTES: usize = 16 << 10;

/// What the pages of one image have given so far.
pub(crate) struct TagsRead {
    pub(crate) tags: Vec<String>,
    /// tags seen, kept or not (see MAX_TAG_LEN)
    pub(crate) seen: usize,
    pub(crate) max: usize,
    /// set when `seen` went past `max`
    pub(crate) over: bool,
}

impl TagsRead {
    pub(crate) fn new(max: usize) -> TagsRead {
        TagsRead {
            tags: vec![],
            seen: 0,
            max,
            over: false,
        }
    }
}

/// Why a page was not used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PageError {
    TooManyTags(usize),
    TooLarge,
    LongString,
    Malformed(String),
    /// the body could not be read (the connection broke, a time-out)
    Unreadable(String),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::TooManyTags(max) => write!(
                f,
                "more than {max} tags (upgrade.max_tags); giving up rather than using a partial list"
            ),
            PageError::TooLarge => write!(
                f,
                "a page of more than {} MiB; giving up rather than reading on",
                MAX_PAGE_BYTES >> 20
            ),
            PageError::LongString => write!(
                f,
                "a string of more than {} KiB in the tag list; giving up rather than reading on",
                MAX_STRING_BYTES >> 10
            ),
            PageError::Malformed(e) => write!(f, "malformed tag list in the answer: {e}"),
            PageError::Unreadable(e) => write!(f, "reading the answer: {e}"),
        }
    }
}

/// Read one page (`{"tags": [...], ...}`) into `read`.
pub(crate) fn read_page(body: impl Read, read: &mut TagsRead) -> Result<(), PageError> {
    let mut limited = body.take(MAX_PAGE_BYTES + 1);
    let mut strings = ShortStrings::new(std::io::BufReader::new(&mut limited));
    let parsed = {
        let mut de = serde_json::Deserializer::from_reader(&mut strings);
        TagList(&mut *read)
            .deserialize(&mut de)
            .and_then(|()| de.end())
    };
    if read.over {
        return Err(PageError::TooManyTags(read.max));
    }
    if strings.too_long {
        return Err(PageError::LongString);
    }
    if limited.limit() == 0 {
        return Err(PageError::TooLarge);
    }
    parsed.map_err(|e| {
        let msg = short(&e.to_string(), 160);
        if e.is_io() {
            PageError::Unreadable(msg)
        } else {
            PageError::Malformed(msg)
        }
    })
}

/// A JSON text read through, failing once a string in it is longer than
/// MAX_STRING_BYTES: the JSON parser holds each string whole before it can
/// look at it, so without this one string of a page could take 8 MiB, in
/// each of the lookups running at once.
pub(crate) struct ShortStrings<R> {
    inner: R,
    /// bytes of the string being read; None between strings
    in_string: Option<usize>,
    /// the last byte was a backslash inside a string
    escaped: bool,
    too_long: bool,
}

impl<R: Read> ShortStrings<R> {
    fn new(inner: R) -> ShortStrings<R> {
        ShortStrings {
            inner,
            in_string: None,
            escaped: false,
            too_long: false,
        }
    }
}

impl<R: Read> Read for ShortStrings<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.in_string = match (self.in_string, b) {
                (None, b'"') => Some(0),
                (None, _) => None,
                (Some(_), b'"') if !self.escaped => None,
                (Some(len), _) => Some(len + 1),
            };
            self.escaped = self.in_string.is_some() && b == b'\\' && !self.escaped;
            if self.in_string.is_some_and(|len| len > MAX_STRING_BYTES) {
                self.too_long = true;
                return Err(std::io::Error::other("a string too long for a tag list"));
            }
        }
        Ok(n)
    }
}

/// The page object: its `tags` go into the `TagsRead`; every other member
/// is skipped unread.
pub(crate) struct TagList<'a>(&'a mut TagsRead);

impl<'de> DeserializeSeed<'de> for TagList<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TagList<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a tag list object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(is_tags) = map.next_key_seed(IsTags)? {
            if is_tags {
                map.next_value_seed(Tags(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A member name: whether it is `tags`.
pub(crate) struct IsTags;

impl<'de> DeserializeSeed<'de> for IsTags {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for IsTags {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == "tags")
    }
}

/// `tags`: an array of strings, or `null`.
pub(crate) struct Tags<'a>(&'a mut TagsRead);

impl<'de> DeserializeSeed<'de> for Tags<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Tags<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of tags")
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let read = self.0;
        while let Some(tag) = seq.next_element_seed(OneTag)? {
            read.seen += 1;
            if read.seen > read.max {
                read.over = true;
                return Err(serde::de::Error::custom("too many tags"));
            }
            read.tags.extend(tag);
        }
        Ok(())
    }
}

/// One tag; None for a string longer than an OCI tag can be (it cannot
/// name an image, and keeping it would let a page of few tags fill memory).
pub(crate) struct OneTag;

impl<'de> DeserializeSeed<'de> for OneTag {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for OneTag {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a tag")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<String>, E> {
        Ok((v.len() <= MAX_TAG_LEN).then(|| v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `head`, `n` times `piece`, then `tail`, as a reader that never holds
    /// the pieces.
    fn repeated(head: &str, piece: &'static str, n: u64, tail: &str) -> impl Read {
        std::io::Cursor::new(head.as_bytes().to_vec())
            .chain(Pieces { piece, left: n })
            .chain(std::io::Cursor::new(tail.as_bytes().to_vec()))
    }

    struct Pieces {
        piece: &'static str,
        left: u64,
    }
    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let p = self.piece.as_bytes();
            let mut n = 0;
            while self.left > 0 && buf.len() - n >= p.len() {
                buf[n..n + p.len()].copy_from_slice(p);
                n += p.len();
                self.left -= 1;
            }
            Ok(n)
        }
    }

    #[test]
    fn a_page_is_read_within_its_bounds() {
        let ok = |tags: &[&str]| Ok(tags.iter().map(|t| t.to_string()).collect::<Vec<_>>());
        let long = "x".repeat(MAX_TAG_LEN + 1);
        let big = "y".repeat(MAX_STRING_BYTES + 1);
        let max = MAX_STRING_BYTES;
        // (case, body, max_tags, the tags read or why not)
        type Case = (
            &'static str,
            Box<dyn Read>,
            usize,
            Result<Vec<String>, PageError>,
        );
        let cases: Vec<Case> = vec![
            (
                "a page",
                Box::new(&br#"{"name":"a/b","tags":["1","2"]}"#[..]),
                5,
                ok(&["1", "2"]),
            ),
            (
                "no tags",
                Box::new(&br#"{"name":"a/b","tags":null}"#[..]),
                5,
                ok(&[]),
            ),
            (
                "absent tags",
                Box::new(&br#"{"name":"a/b"}"#[..]),
                5,
                ok(&[]),
            ),
            (
                "other members skipped",
                Box::new(&br#"{"x":{"y":[1,{"z":"w"}]},"tags":["1"]}"#[..]),
                5,
                ok(&["1"]),
            ),
            (
                "escapes",
                Box::new(&br#"{"tags":["a\"b","c\\"]}"#[..]),
                5,
                ok(&["a\"b", "c\\"]),
            ),
            (
                "exactly max_tags",
                Box::new(&br#"{"tags":["1","2","3"]}"#[..]),
                3,
                ok(&["1", "2", "3"]),
            ),
            (
                "one past max_tags",
                Box::new(&br#"{"tags":["1","2","3","4"]}"#[..]),
                3,
                Err(PageError::TooManyTags(3)),
            ),
            (
                "too long to be a tag: dropped, counted",
                Box::new(std::io::Cursor::new(format!(
                    "{{\"tags\":[\"{long}\",\"1\"]}}"
                ))),
                2,
                ok(&["1"]),
            ),
            (
                "too long to be a tag: counted",
                Box::new(std::io::Cursor::new(format!(
                    "{{\"tags\":[\"{long}\",\"1\"]}}"
                ))),
                1,
                Err(PageError::TooManyTags(1)),
            ),
            (
                "a string past the string bound",
                Box::new(std::io::Cursor::new(format!(
                    "{{\"name\":\"{big}\",\"tags\":[]}}"
                ))),
                5,
                Err(PageError::LongString),
            ),
            (
                "a string at the string bound",
                Box::new(std::io::Cursor::new(format!(
                    "{{\"name\":\"{}\",\"tags\":[]}}",
                    "z".repeat(max)
                ))),
                5,
                ok(&[]),
            ),
            (
                "exactly 8 MiB",
                Box::new(repeated("{\"tags\":[\"1\"]", " ", MAX_PAGE_BYTES - 14, "}")),
                5,
                ok(&["1"]),
            ),
            (
                "one byte past 8 MiB",
                Box::new(repeated("{\"tags\":[\"1\"]", " ", MAX_PAGE_BYTES - 13, "}")),
                5,
                Err(PageError::TooLarge),
            ),
            (
                "endless short tags",
                Box::new(repeated("{\"tags\":[\"a\"", ",\"a\"", u64::MAX, "")),
                10_000,
                Err(PageError::TooManyTags(10_000)),
            ),
            (
                "not an object",
                Box::new(&b"[1]"[..]),
                5,
                Err(PageError::Malformed(String::new())),
            ),
            (
                "a number for a tag",
                Box::new(&br#"{"tags":[1]}"#[..]),
                5,
                Err(PageError::Malformed(String::new())),
            ),
            (
                "cut short",
                Box::new(&br#"{"tags":["1""#[..]),
                5,
                Err(PageError::Malformed(String::new())),
            ),
        ];
        for (case, body, max_tags, want) in cases {
            let mut read = TagsRead::new(max_tags);
            let got = read_page(body, &mut read).map(|()| read.tags);
            match (got, want) {
                (Err(PageError::Malformed(_)), Err(PageError::Malformed(_))) => {}
                (got, want) => assert_eq!(got, want, "case {case}"),
            }
        }
    }
}
