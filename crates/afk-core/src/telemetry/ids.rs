//! The ids of a run's trace: the first bytes of a SHA-256 over ASCII text,
//! so every process that touches a run puts its spans in the run's trace,
//! under the run span, with nothing passed between them. An all-zero id
//! (invalid in OTLP) has its last byte set to `01`. Tick and model-request
//! spans have random ids, drawn by the caller.

use sha2::{Digest, Sha256};

/// The first `N` bytes of `sha256(text)`, never all zero.
fn derived<const N: usize>(text: &str) -> [u8; N] {
    let digest = Sha256::digest(text.as_bytes());
    let mut id = [0u8; N];
    id.copy_from_slice(&digest[..N]);
    nonzero(id)
}

/// `id`, or with its last byte `01` when it is all zero (OTLP's invalid id):
/// also for an id the caller drew at random.
pub fn nonzero<const N: usize>(mut id: [u8; N]) -> [u8; N] {
    if N > 0 && id.iter().all(|b| *b == 0) {
        id[N - 1] = 1;
    }
    id
}

/// The run's trace id: the first 16 bytes of `sha256("afk-trace:<instance>:<run>")`.
pub fn trace_id(instance: &str, run: i64) -> [u8; 16] {
    derived(&format!("afk-trace:{instance}:{run}"))
}

/// The run span's id: the first 8 bytes of `sha256("afk-run:<instance>:<run>")`.
pub(crate) fn run_span_id(instance: &str, run: i64) -> [u8; 8] {
    derived(&format!("afk-run:{instance}:{run}"))
}

/// Turn `turn`'s (from 1) `invoke_agent` span id: the first 8 bytes of
/// `sha256("afk-turn:<instance>:<run>:<turn>")`.
pub(crate) fn turn_span_id(instance: &str, run: i64, turn: u32) -> [u8; 8] {
    derived(&format!("afk-turn:{instance}:{run}:{turn}"))
}

/// A late fact's `afk.run.update` span id (`fact`: `reverted` or
/// `survival`): the first 8 bytes of `sha256("afk-fact:<instance>:<run>:<fact>")`.
pub(crate) fn fact_span_id(instance: &str, run: i64, fact: &str) -> [u8; 8] {
    derived(&format!("afk-fact:{instance}:{run}:{fact}"))
}

/// Lowercase hex, two digits a byte (how ids are written and shown).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sha256(text)` in hex, by the same crate: the ids are its first bytes.
    fn sha(text: &str) -> String {
        hex(&Sha256::digest(text.as_bytes()))
    }

    #[test]
    fn each_id_is_the_first_bytes_of_the_sha256_of_its_text() {
        let cases: [(String, String, usize); 4] = [
            (
                hex(&trace_id("0a1b2c3d", 42)),
                sha("afk-trace:0a1b2c3d:42"),
                32,
            ),
            (
                hex(&run_span_id("0a1b2c3d", 42)),
                sha("afk-run:0a1b2c3d:42"),
                16,
            ),
            (
                hex(&turn_span_id("0a1b2c3d", 42, 3)),
                sha("afk-turn:0a1b2c3d:42:3"),
                16,
            ),
            (
                hex(&fact_span_id("0a1b2c3d", 42, "survival")),
                sha("afk-fact:0a1b2c3d:42:survival"),
                16,
            ),
        ];
        for (got, digest, len) in cases {
            assert_eq!(got.len(), len);
            assert_eq!(got, digest[..len], "{digest}");
        }
    }

    #[test]
    fn a_known_text_gives_its_known_id() {
        // sha256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 …, so an id of
        // a known text is checked against a digest computed elsewhere
        assert_eq!(sha("abc")[..16], *"ba7816bf8f01cfea");
        assert_eq!(
            hex(&trace_id("i", 1)),
            sha("afk-trace:i:1")[..32].to_string()
        );
    }

    #[test]
    fn two_instances_runs_or_turns_never_share_an_id() {
        assert_ne!(trace_id("aaaaaaaa", 1), trace_id("bbbbbbbb", 1));
        assert_ne!(trace_id("aaaaaaaa", 1), trace_id("aaaaaaaa", 2));
        assert_ne!(run_span_id("a", 1), turn_span_id("a", 1, 1));
        assert_ne!(turn_span_id("a", 1, 1), turn_span_id("a", 1, 2));
        assert_ne!(
            fact_span_id("a", 1, "reverted"),
            fact_span_id("a", 1, "survival")
        );
        // the same inputs, the same ids: a re-send is the same span
        assert_eq!(run_span_id("a", 7), run_span_id("a", 7));
    }

    #[test]
    fn an_all_zero_id_has_its_last_byte_set_to_01() {
        assert_eq!(nonzero([0u8; 8]), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(nonzero([0u8; 16])[15], 1);
        assert_eq!(nonzero([0, 0, 0, 0, 0, 0, 0, 9]), [0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(nonzero([7u8; 8]), [7u8; 8]);
    }

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        for (bytes, want) in [
            (&[][..], ""),
            (&[0u8][..], "00"),
            (&[0xab, 0x01, 0xff][..], "ab01ff"),
        ] {
            assert_eq!(hex(bytes), want);
        }
    }
}
