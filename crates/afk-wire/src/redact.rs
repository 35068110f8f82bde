//! Nothing afk writes carries a secret (docs/security.md#nothing-afk-writes-carries-a-secret):
//! every secret afk holds, and the values of `runner.secret_env`, are
//! replaced by `[redacted]` in what it writes where others read it, plain,
//! base64-encoded (standard or URL-safe, at any alignment within a longer
//! encoding) and percent-encoded. A secret shorter than [`MIN_LEN`] is not
//! searched for (it would match ordinary text; doctor warns).

use std::borrow::Cow;

/// What a secret becomes.
pub const REDACTED: &str = "[redacted]";
/// Shorter secrets are not searched for.
pub const MIN_LEN: usize = 8;

/// The forms of a set of secrets afk looks for, longest first.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    forms: Vec<String>,
}

impl Secrets {
    /// The forms of `secrets` (those of at least [`MIN_LEN`] characters).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Secrets {
        let mut forms = vec![];
        for s in secrets {
            let s = s.trim();
            if s.chars().count() < MIN_LEN {
                continue;
            }
            forms.extend(forms_of(s));
        }
        forms.retain(|f| f.len() >= MIN_LEN);
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        forms.dedup();
        Secrets { forms }
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every form of every secret replaced by [`REDACTED`].
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.forms.is_empty() || !self.forms.iter().any(|f| text.contains(f.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for f in &self.forms {
            if out.contains(f.as_str()) {
                out = out.replace(f.as_str(), REDACTED);
            }
        }
        Cow::Owned(out)
    }
}

/// The plain secret, its percent-encodings (upper and lower hex), and the
/// base64 runs (standard and URL-safe) that any encoding of a stream
/// holding it contains, at each of the three alignments.
fn forms_of(s: &str) -> Vec<String> {
    let mut v = vec![s.to_string()];
    let pct = percent(s, true);
    if pct != s {
        v.push(pct);
        v.push(percent(s, false));
    }
    for url_safe in [false, true] {
        for k in 0..3usize {
            let mut bytes = vec![0u8; k];
            bytes.extend_from_slice(s.as_bytes());
            let enc = base64(&bytes, url_safe);
            // the characters whose six bits all come from the secret
            let first = (8 * k).div_ceil(6);
            let end = 8 * (k + s.len()) / 6;
            if end > first {
                v.push(enc[first..end].to_string());
            }
        }
    }
    v
}

fn percent(s: &str, upper: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

fn base64(bytes: &[u8], url_safe: bool) -> String {
    let table: &[u8; 64] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_redacted_plain_base64_at_any_alignment_and_percent_encoded() {
        let token = "tok-5e1d9c3b/7a2f+4e6d";
        let s = Secrets::new([token, "short"]);
        let b64 = |t: &[u8]| base64(t, false);
        let cases: Vec<(String, bool)> = vec![
            (format!("the log ends: {token}"), true),
            (b64(token.as_bytes()), true),
            (b64(format!("{token}\n").as_bytes()), true),
            (b64(format!("x{token}").as_bytes()), true),
            (b64(format!("xy:{token}").as_bytes()), true),
            (base64(format!("user:{token}").as_bytes(), true), true),
            ("tok-5e1d9c3b%2F7a2f%2B4e6d".into(), true),
            ("tok-5e1d9c3b%2f7a2f%2b4e6d".into(), true),
            // a short secret is not searched for; other text is left alone
            ("a short story".into(), false),
            ("tok-5e1d9c3b".into(), false),
        ];
        for (text, hidden) in cases {
            let out = s.redact(&text);
            assert_eq!(out.contains(REDACTED), hidden, "{text} -> {out}");
            assert!(!out.contains(token), "{out}");
        }
        assert!(Secrets::new(["1234567"]).is_empty());
    }

    #[test]
    fn base64_is_the_standard_one() {
        let cases: [(&[u8], &str); 4] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"foob", "Zm9vYg"),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (raw, want) in cases {
            assert_eq!(base64(raw, false), want);
        }
    }
}
