//! A request in flight's partial record (docs/how-it-works.md#spend): what
//! has arrived of its answer's usage, priced, kept outside the box while the
//! answer streams, so that a turn ended by anything still counts it: the
//! gateway's own stop at a limit, watch's stop at `run_time` or `/afk stop`
//! (SIGTERM to the turn's process group, the keeper in it, then SIGKILL),
//! the keeper killed or crashing. Without it, a keeper that dies before a
//! request lands takes what arrived of it along.
//!
//! The keeper keeps one small file per billed request in flight,
//! `<run_dir>/metered-aloft/<keeper>-<n>.json`: one [`Line`] with
//! `complete: false`, written as the request goes upstream (its input
//! estimated from the bytes it sent, `"estimated": true`, as a request whose
//! answer never came is priced), replaced whole (written beside it, then
//! renamed over it) each time its usage arrives or grows ([`to_keep`]), and
//! removed once the request's own line is in the metered record. What a
//! keeper leaves there is what arrived of the requests it had in flight when
//! it died; the run's spend is the record's sum and theirs ([`sum`],
//! `metered::Read::sum`). Between the request's line landing in the record
//! and its partial record's removal a reader counts it twice, never none;
//! once the keeper goes on, the next read counts it once (a keeper killed in
//! that instant leaves it counted twice: over, never under).

use super::metered::Tally;
use super::usage::{self, Usage};

/// The folder of the partial records, in the run's folder beside the
/// metered record.
pub const DIR: &str = "metered-aloft";

/// How a partial record's name ends (a replacement being written beside it
/// ends otherwise, and is not read).
pub(crate) const SUFFIX: &str = ".json";

/// The most partial records a read sums (a killed keeper leaves at most one
/// per request it had in flight); past it, each is counted as skipped.
pub const MAX_FILES: usize = 1024;

/// The most bytes of one partial record read (one line: a few hundred bytes).
pub const MAX_FILE: u64 = 4 << 10;

/// The name of request `n`'s partial record, for the keeper named `keeper`
/// (its process and when its gateway was made: no other keeper's request
/// has it).
pub fn file_name(keeper: &str, n: u64) -> String {
    format!("{keeper}-{n}{SUFFIX}")
}

/// Whether `name` in [`DIR`] is a partial record's.
pub fn is_record(name: &str) -> bool {
    name.len() > SUFFIX.len() && name.ends_with(SUFFIX) && !name.starts_with('.')
}

/// What a request's partial record holds: its usage as it arrived, or,
/// before any arrived, its input estimated from the bytes it sent
/// (`usage::estimate`: the vendor has them and may bill them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub usage: Usage,
    pub estimated: bool,
}

/// What a billed request's partial record is to hold as it goes upstream
/// and after each chunk of its answer: its usage so far (`so_far`), else
/// its input estimated from the `sent` bytes, when that is not what the
/// record holds already (`kept`). None: the record stays as it is, because
/// nothing new arrived, the request is not billed (`billed`), or its
/// answer's end has arrived (`ended`) and its own line in the metered record
/// follows at once. The bytes received are not counted here (a rewrite per
/// chunk): a keeper killed before a usage arrives leaves the input's estimate.
pub fn to_keep(
    billed: bool,
    ended: bool,
    kept: Option<Kept>,
    so_far: Option<Usage>,
    sent: u64,
) -> Option<Kept> {
    if !billed || ended {
        return None;
    }
    let now = match so_far.filter(|u| !u.is_zero()) {
        Some(usage) => Kept {
            usage,
            estimated: false,
        },
        None => Kept {
            usage: usage::estimate(sent, 0),
            estimated: true,
        },
    };
    (kept != Some(now)).then_some(now)
}

/// The partial records read (each file's bytes, at most [`MAX_FILE`] of
/// each), summed as the metered record is: each is one request, a file that
/// is not a record's line is counted as skipped.
pub fn sum<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Tally {
    let mut t = Tally::default();
    for r in records {
        t.feed(r);
        if !r.ends_with(b"\n") {
            t.feed(b"\n");
        }
    }
    // not a place in any file
    t.read = 0;
    t
}

#[cfg(test)]
mod tests {
    use super::super::metered::Line;
    use super::super::prices::PricedBy;
    use super::super::usage::{Framing, UsageReader};
    use super::super::{Api, metered};
    use super::*;

    fn u(input: u64, cache_read: u64, cache_write: u64, output: u64) -> Usage {
        Usage {
            input,
            cache_read,
            cache_write,
            output,
            ..Usage::default()
        }
    }

    fn arrived(usage: Usage) -> Option<Kept> {
        Some(Kept {
            usage,
            estimated: false,
        })
    }

    /// A request of 3,000 bytes: 1,000 tokens in, estimated.
    const SENT: u64 = 3000;

    fn guessed() -> Option<Kept> {
        Some(Kept {
            usage: u(1000, 0, 0, 0),
            estimated: true,
        })
    }

    /// An Anthropic answer arriving in pieces (its `message_start` cut in
    /// two), and what its partial record holds after each: the input's
    /// estimate as the request goes upstream, the usage when it first
    /// arrives and each time it grows, never rewritten for the same, and not
    /// once the answer's end has arrived (its line follows).
    #[test]
    fn a_partial_record_holds_the_usage_that_arrived_and_is_rewritten_only_as_it_grows() {
        let start = r#"data: {"type":"message_start","message":{"id":"m","model":"claude-sonnet-4-6","usage":{"input_tokens":1200,"cache_read_input_tokens":5000,"cache_creation_input_tokens":40,"output_tokens":1}}}"#;
        let (start_a, start_b) = start.split_at(60);
        let text = r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#;
        let delta = r#"data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":300}}"#;
        let stop = r#"data: {"type":"message_stop"}"#;
        let begun = u(1200, 5000, 40, 1);
        let whole = u(1200, 5000, 40, 300);
        let mut r = UsageReader::new(Api::Anthropic, Framing::Sse);
        // as it goes upstream: the input's estimate
        let mut kept = to_keep(true, false, None, None, SENT);
        assert_eq!(kept, guessed());
        // (what arrives, the record after it: None where it stays as it was)
        let pieces: Vec<(String, Option<Kept>)> = vec![
            ("event: message_start\n".into(), None),
            (start_a.into(), None),
            (format!("{start_b}\n\n"), arrived(begun)),
            ("event: ping\ndata: {\"type\": \"ping\"}\n\n".into(), None),
            (format!("event: content_block_delta\n{text}\n\n"), None),
            (format!("{text}\n\n{text}\n\n"), None),
            (format!("event: message_delta\n{delta}\n\n"), arrived(whole)),
            (format!("event: message_stop\n{stop}\n\n"), None),
        ];
        let mut held = vec![];
        for (piece, want) in pieces {
            r.feed(piece.as_bytes());
            let now = to_keep(true, r.ended(), kept, r.so_far(), SENT);
            assert_eq!(now, want, "after {piece:?}");
            kept = now.or(kept);
            held.push(kept);
        }
        // what a keeper killed at each point leaves: the estimate, then the
        // input as it began, then the output too
        assert_eq!(
            held,
            [
                guessed(),
                guessed(),
                arrived(begun),
                arrived(begun),
                arrived(begun),
                arrived(begun),
                arrived(whole),
                arrived(whole),
            ]
        );
        assert!(r.ended());
    }

    /// The decision alone, case by case.
    #[test]
    fn a_partial_record_is_kept_only_for_a_billed_answer_still_streaming_whose_usage_moved() {
        let a = u(10, 0, 0, 1);
        let b = u(10, 0, 0, 7);
        let zero = Usage::default();
        // (billed, ended, kept, so far, to keep)
        let cases = [
            // gone upstream, nothing back yet: the estimate, once
            (true, false, None, None, guessed()),
            (true, false, guessed(), None, None),
            // no usage yet, an empty one counts as none
            (true, false, guessed(), Some(zero), None),
            (true, false, None, Some(zero), guessed()),
            // the usage arrives, then moves
            (true, false, guessed(), Some(a), arrived(a)),
            (true, false, None, Some(a), arrived(a)),
            (true, false, arrived(a), Some(a), None),
            (true, false, arrived(a), Some(b), arrived(b)),
            // its end arrived: its line follows, the record stays
            (true, true, arrived(a), Some(b), None),
            (true, true, None, Some(a), None),
            (true, true, None, None, None),
            // not billed (a count of tokens, the models' list): none
            (false, false, None, Some(a), None),
            (false, false, None, None, None),
        ];
        for (billed, ended, kept, so_far, want) in cases {
            assert_eq!(
                to_keep(billed, ended, kept, so_far, SENT),
                want,
                "{billed} {ended} {kept:?} {so_far:?}"
            );
        }
    }

    /// An OpenAI Responses stream carries its usage only at its end: its
    /// partial record holds the input's estimate until then, never
    /// rewritten as the answer streams, and not at its end.
    #[test]
    fn a_responses_stream_keeps_the_inputs_estimate_until_its_usage() {
        let created = r#"data: {"type":"response.created","response":{"id":"r","usage":null}}"#;
        let delta = r#"data: {"type":"response.output_text.delta","delta":"hi"}"#;
        let done = r#"data: {"type":"response.completed","response":{"id":"r","usage":{"input_tokens":100,"output_tokens":20}}}"#;
        let mut r = UsageReader::new(Api::OpenAi, Framing::Sse);
        let kept = to_keep(true, false, None, None, SENT);
        assert_eq!(kept, guessed());
        for piece in [created, delta, delta, done] {
            r.feed(format!("{piece}\n\n").as_bytes());
            assert_eq!(
                to_keep(true, r.ended(), kept, r.so_far(), SENT),
                None,
                "{piece}"
            );
        }
        assert_eq!(r.so_far().map(|u| u.input), Some(100));
    }

    #[test]
    fn partial_records_sum_as_one_request_each_and_a_file_that_is_none_is_skipped() {
        let at = time::macros::datetime!(2026-11-26 02:20:19 UTC);
        let line = |micro_usd, by| {
            Line::new(
                at,
                Api::Anthropic,
                "claude-sonnet-4-6",
                200,
                u(1000, 0, 0, 1),
                micro_usd,
                by,
                false,
            )
            .to_line()
        };
        let a = line(3_015, PricedBy::Table);
        let b = line(9_000, PricedBy::Highest);
        let no_newline = a.trim_end().to_string();
        let files: Vec<&[u8]> = vec![
            a.as_bytes(),
            b.as_bytes(),
            no_newline.as_bytes(),
            &b"{\"at\":"[..],
            &b""[..],
        ];
        let t = sum(files);
        assert_eq!(
            (t.micro_usd, t.requests, t.fallback, t.skipped, t.read),
            (15_030, 3, 1, 1, 0)
        );
        assert_eq!(t.tokens.input, 3000);
        assert_eq!(sum(Vec::<&[u8]>::new()), Tally::default());
        // and beside the record: the run's figures are both
        let mut read = metered::Read::default();
        read.start(7, 0);
        read.tally.feed(line(1_000_000, PricedBy::Table).as_bytes());
        read.aloft = t;
        let both = read.sum();
        assert_eq!((both.micro_usd, both.requests), (1_015_030, 4));
        assert_eq!(both.tokens.input, 4000);
        // the record's own place is the record's
        assert_eq!(both.read, read.tally.read);
    }

    #[test]
    fn a_partial_records_name_is_its_keepers_and_its_requests() {
        assert_eq!(file_name("4242-17f3", 7), "4242-17f3-7.json");
        let cases = [
            ("4242-17f3-7.json", true),
            ("4242-17f3-7.json.tmp", false),
            (".json", false),
            (".hidden.json", false),
            ("notes.txt", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_record(name), want, "{name}");
        }
    }
}
