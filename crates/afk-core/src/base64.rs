//! base64 read back (RFC 4648): the standard alphabet of a Basic
//! credential (`afk hook` on Azure DevOps) and the URL-safe one of a JWT's
//! segments (an Entra token's `exp`). One decoder for both, padding
//! optional; core has no base64 crate and needs only to read.

/// Which of RFC 4648's alphabets: section 4's (`+`, `/`) or section 5's
/// URL-safe one (`-`, `_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Standard,
    Url,
}

/// `s` decoded in `alphabet`, its `=` padding optional; None for any other
/// character, more than two `=`, padding on a length no multiple of four,
/// or a length that leaves a lone sixth of a byte.
pub fn decode(s: &str, alphabet: Alphabet) -> Option<Vec<u8>> {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    if pad > 2 || (pad > 0 && !s.len().is_multiple_of(4)) || body.len() % 4 == 1 {
        return None;
    }
    let (c62, c63) = match alphabet {
        Alphabet::Standard => (b'+', b'/'),
        Alphabet::Url => (b'-', b'_'),
    };
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in body.bytes() {
        let v = u32::from(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b if b == c62 => 62,
            b if b == c63 => 63,
            _ => return None,
        });
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_reads_both_alphabets_padded_or_not_and_nothing_else() {
        use Alphabet::{Standard, Url};
        let cases: [(&str, Alphabet, Option<&[u8]>); 11] = [
            ("", Standard, Some(b"")),
            ("OnNlY3JldA==", Standard, Some(b":secret")),
            ("OnNlY3JldA", Standard, Some(b":secret")),
            ("AP94eXo=", Standard, Some(b"\x00\xffxyz")),
            ("-_8", Url, Some(b"\xfb\xff")),
            ("+/8", Standard, Some(b"\xfb\xff")),
            ("+/8", Url, None),
            ("-_8", Standard, None),
            ("OnNlY3JldA===", Standard, None),
            ("OnNlY3JldA=", Standard, None),
            ("A", Standard, None),
        ];
        for (s, a, want) in cases {
            assert_eq!(decode(s, a).as_deref(), want, "case {s:?} {a:?}");
        }
    }
}
