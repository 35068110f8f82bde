//! Nothing afk writes carries a secret (docs/security.md#nothing-afk-writes-carries-a-secret):
//! every secret afk holds, and the values of `runner.secret_env`, are
//! replaced by `[redacted]` in what it writes where others read it, in
//! every form an escaper or an encoder makes of it: plain; reversed; each
//! byte as itself or escaped (percent-encoded in either hex case, a
//! markdown or JSON backslash before punctuation, also escaped twice, JSON's
//! `\u00XX`, `\xXX`, an HTML entity), so markdown-escaped, HTML-escaped,
//! JSON-escaped and percent-encoded texts are caught, whichever bytes were
//! escaped; hex of its bytes (either case); and base64 (standard or
//! URL-safe, at any alignment within a longer encoding). Hex and base64 may
//! be wrapped: a line break (`\n` or `\r\n`, then any indentation), or the
//! spaces a one-line text made of one, may fall between any two of their
//! characters. A secret shorter than [`MIN_LEN`] is not
//! searched for (it would match ordinary text; doctor warns).
//!
//! The cost is one pass over the text: at each position the unit there is
//! decoded once (a byte, or the escape starting there) and only the forms
//! that begin with that byte are tried, each as far as it keeps matching.

use std::borrow::Cow;

/// What a secret becomes.
pub const REDACTED: &str = "[redacted]";
/// Shorter secrets are not searched for.
pub const MIN_LEN: usize = 8;

/// One form of a secret: the bytes it spells once escapes are read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Form {
    bytes: Vec<u8>,
    /// ASCII letters match in either case (hex)
    fold: bool,
    /// a line break may fall between two characters (hex, base64)
    wraps: bool,
}

/// The forms of a set of secrets afk looks for.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    forms: Vec<Form>,
    /// by the byte a form starts with (both cases where it folds): the forms
    starting: Vec<Vec<usize>>,
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
        forms.retain(|f| f.bytes.len() >= MIN_LEN);
        forms.sort();
        forms.dedup();
        let mut starting = vec![vec![]; 256];
        for (i, f) in forms.iter().enumerate() {
            let b = f.bytes[0];
            starting[usize::from(b)].push(i);
            if f.fold && b.is_ascii_alphabetic() {
                starting[usize::from(b ^ 0x20)].push(i);
            }
        }
        Secrets { forms, starting }
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every form of every secret replaced by [`REDACTED`]
    /// (overlapping matches make one).
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.forms.is_empty() {
            return Cow::Borrowed(text);
        }
        let t = text.as_bytes();
        let mut cuts: Vec<(usize, usize)> = vec![];
        let mut here = vec![];
        let mut scratch = Scratch::default();
        for i in 0..t.len() {
            let c = t[i];
            if self.starting[usize::from(c)].is_empty() && !is_escape(c) {
                continue;
            }
            here.clear();
            units(t, i, &mut here);
            let mut end = None;
            for &(b, _) in &here {
                for &k in &self.starting[usize::from(b)] {
                    if let Some(e) = self.forms[k].ends_at(t, i, &mut scratch) {
                        end = end.max(Some(e));
                    }
                }
            }
            let Some(e) = end else { continue };
            match cuts.last_mut() {
                Some(last) if i < last.1 => last.1 = last.1.max(e),
                _ => cuts.push((i, e)),
            }
        }
        if cuts.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (mut from, mut to) in cuts {
            // a cut starts and ends on a character (a defence: a form's ends are)
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            while !text.is_char_boundary(to) {
                to += 1;
            }
            if from < at {
                from = at;
            }
            out.push_str(&text[at..from]);
            if to > from {
                out.push_str(REDACTED);
            }
            at = at.max(to);
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }
}

impl Form {
    /// The end of the longest match of this form in `t` starting at `from`:
    /// every text position one unit at a time could have reached is kept,
    /// so `\\` read as one escaped backslash or as two bytes are both tried.
    fn ends_at(&self, t: &[u8], from: usize, scratch: &mut Scratch) -> Option<usize> {
        let Scratch { states, next, here } = scratch;
        states.clear();
        states.push(from);
        for (k, &want) in self.bytes.iter().enumerate() {
            next.clear();
            for &p in states.iter() {
                let mut starts = [Some(p), None];
                if k > 0 && self.wraps {
                    starts[1] = after_break(t, p);
                }
                for q in starts.into_iter().flatten() {
                    let Some(&c) = t.get(q) else { continue };
                    if !is_escape(c) {
                        // the common case: the byte itself
                        if c == want || (self.fold && c.eq_ignore_ascii_case(&want)) {
                            next.push(q + 1);
                        }
                        continue;
                    }
                    here.clear();
                    units(t, q, here);
                    for &(b, e) in here.iter() {
                        if b == want || (self.fold && b.eq_ignore_ascii_case(&want)) {
                            next.push(e);
                        }
                    }
                }
            }
            if next.is_empty() {
                return None;
            }
            next.sort_unstable();
            next.dedup();
            std::mem::swap(states, next);
        }
        states.last().copied()
    }
}

/// What matching keeps between positions, allocated once per text.
#[derive(Default)]
struct Scratch {
    states: Vec<usize>,
    next: Vec<usize>,
    here: Vec<(u8, usize)>,
}

/// A byte an escape starts with.
fn is_escape(c: u8) -> bool {
    matches!(c, b'\\' | b'%' | b'&')
}

/// The longest indentation or run of spaces a wrapped form may hold in a
/// break (bounded, so a long run costs one scan per form that reached it).
const BREAK_MAX: usize = 64;

/// Past a line break at `p` (`\n` or `\r\n`, and the indentation after
/// it), or past spaces and tabs (a line break a one-line text made a space).
fn after_break(t: &[u8], p: usize) -> Option<usize> {
    let mut q = match t.get(p..)? {
        [b'\n', ..] => p + 1,
        [b'\r', b'\n', ..] => p + 2,
        [b' ' | b'\t', ..] => p,
        _ => return None,
    };
    let mut blank = 0;
    while blank < BREAK_MAX && matches!(t.get(q), Some(b' ' | b'\t')) {
        q += 1;
        blank += 1;
    }
    Some(q)
}

/// Each byte the text at `i` spells and where that spelling ends: the byte
/// itself, and the escape that starts there (`\` before punctuation,
/// `\u00XX`, `\xXX`, `%XX`, `&amp;`, `&#39;`, `&#x27;`, …).
fn units(t: &[u8], i: usize, out: &mut Vec<(u8, usize)>) {
    let Some(&c) = t.get(i) else { return };
    out.push((c, i + 1));
    let hex_at = |at: usize, n: usize| -> Option<u32> {
        let digits = t.get(at..at + n)?;
        digits
            .iter()
            .try_fold(0u32, |v, d| Some(v * 16 + char::from(*d).to_digit(16)?))
    };
    let ascii = |v: u32| u8::try_from(v).ok().filter(u8::is_ascii);
    match c {
        b'\\' => match t.get(i + 1) {
            Some(&p) if p.is_ascii_punctuation() => {
                out.push((p, i + 2));
                // escaped again (markdown of an agent's own `\_`): each
                // backslash escaped, the char last
                let run = t[i + 1..]
                    .iter()
                    .take(BREAK_MAX)
                    .take_while(|&&b| b == b'\\')
                    .count();
                if let Some(&p) = t.get(i + 1 + run)
                    && run > 0
                    && p.is_ascii_punctuation()
                    && p != b'\\'
                {
                    out.push((p, i + 2 + run));
                }
            }
            Some(b'u') => {
                if let Some(b) = hex_at(i + 2, 4).and_then(ascii) {
                    out.push((b, i + 6));
                }
            }
            Some(b'x') => {
                if let Some(b) = hex_at(i + 2, 2).and_then(ascii) {
                    out.push((b, i + 4));
                }
            }
            _ => {}
        },
        b'%' => {
            if let Some(v) = hex_at(i + 1, 2) {
                out.push((v as u8, i + 3));
            }
        }
        b'&' => {
            let rest = &t[i + 1..];
            let semi = rest.iter().take(10).position(|&b| b == b';');
            let Some(semi) = semi else { return };
            let name = &rest[..semi];
            let v = match name {
                b"amp" => Some(u32::from(b'&')),
                b"lt" => Some(u32::from(b'<')),
                b"gt" => Some(u32::from(b'>')),
                b"quot" => Some(u32::from(b'"')),
                b"apos" => Some(u32::from(b'\'')),
                [b'#', b'x' | b'X', digits @ ..] if !digits.is_empty() => {
                    hex_at(i + 3, digits.len())
                }
                [b'#', digits @ ..] if !digits.is_empty() => std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok()),
                _ => None,
            };
            if let Some(b) = v.and_then(ascii) {
                out.push((b, i + 2 + semi));
            }
        }
        _ => {}
    }
}

/// The plain secret, reversed, its bytes' hex, and the base64 runs
/// (standard and URL-safe) that any encoding of a stream holding it
/// contains, at each of the three alignments. Escapes of any of them are
/// read by `units`.
fn forms_of(s: &str) -> Vec<Form> {
    let form = |bytes: Vec<u8>, fold, wraps| Form { bytes, fold, wraps };
    let mut v = vec![
        form(s.as_bytes().to_vec(), false, false),
        form(
            s.chars().rev().collect::<String>().into_bytes(),
            false,
            false,
        ),
        form(
            s.bytes()
                .flat_map(|b| format!("{b:02x}").into_bytes())
                .collect(),
            true,
            true,
        ),
    ];
    for url_safe in [false, true] {
        for k in 0..3usize {
            let mut bytes = vec![0u8; k];
            bytes.extend_from_slice(s.as_bytes());
            let enc = base64(&bytes, url_safe);
            // the characters whose six bits all come from the secret
            let first = (8 * k).div_ceil(6);
            let end = 8 * (k + s.len()) / 6;
            if end > first {
                v.push(form(enc.as_bytes()[first..end].to_vec(), false, true));
            }
        }
    }
    v
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

    /// The forms an escaper or an encoder makes of a secret, each a row
    /// named after its rule: every one is redacted, and what is left of the
    /// text around it is only what the form shares with its neighbours (a
    /// base64 run's edge characters).
    #[test]
    fn every_escaped_or_encoded_form_of_a_secret_is_redacted() {
        const KEY: &str = "sk-ant-api03-Qf9_x2Lm7_vB8/kR+e";
        const MARKUP: &str = "p&ss<w>rd\"it's\\q/9";
        let s = Secrets::new([KEY, MARKUP]);
        let every_pct = |t: &str, f: &dyn Fn(u8) -> String| t.bytes().map(f).collect::<String>();
        let hex = |t: &str| t.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        let wrapped = |t: &str, width: usize, nl: &str| {
            let c: Vec<char> = t.chars().collect();
            c.chunks(width)
                .map(|l| l.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join(nl)
        };
        let b64 = |t: &str| base64(t.as_bytes(), false);
        let md = |t: &str| {
            t.chars()
                .map(|c| {
                    if c.is_ascii_punctuation() {
                        format!("\\{c}")
                    } else {
                        c.to_string()
                    }
                })
                .collect::<String>()
        };
        let rows: Vec<(&str, String)> = vec![
            ("plain", KEY.into()),
            ("markdown: afk's own md_text", crate::sanitize::md_text(KEY)),
            (
                "markdown: a backslash before every punctuation char",
                md(KEY),
            ),
            (
                "markdown: the escapes of the markup chars",
                crate::sanitize::md_text(MARKUP),
            ),
            (
                "markdown: escaped twice (afk's md_text of an agent's md-escaped key)",
                crate::sanitize::md_text(&md(KEY)),
            ),
            (
                "html: named entities",
                "p&amp;ss&lt;w&gt;rd&quot;it&#39;s\\q/9".into(),
            ),
            (
                "html: a hex entity",
                "p&amp;ss&lt;w&gt;rd&quot;it&#x27;s\\q/9".into(),
            ),
            (
                "html: every char a decimal entity",
                MARKUP.bytes().map(|b| format!("&#{b};")).collect(),
            ),
            (
                "json: quote, backslash and solidus escaped",
                "p&ss<w>rd\\\"it's\\\\q\\/9".into(),
            ),
            (
                "json: \\u00XX escapes",
                "sk-ant-api03-Qf9\\u005fx2Lm7\\u005FvB8\\/kR\\u002be".into(),
            ),
            (
                "percent: the reserved bytes, upper hex",
                "sk-ant-api03-Qf9_x2Lm7_vB8%2FkR%2Be".into(),
            ),
            (
                "percent: the reserved bytes, lower hex",
                "sk-ant-api03-Qf9_x2Lm7_vB8%2fkR%2be".into(),
            ),
            (
                "percent: every byte, upper hex",
                every_pct(KEY, &|b| format!("%{b:02X}")),
            ),
            (
                "percent: every byte, lower hex",
                every_pct(KEY, &|b| format!("%{b:02x}")),
            ),
            (
                "percent: every byte, mixed case",
                every_pct(KEY, &|b| {
                    if b % 2 == 0 {
                        format!("%{b:02X}")
                    } else {
                        format!("%{b:02x}")
                    }
                }),
            ),
            ("hex: lower case", hex(KEY)),
            ("hex: upper case", hex(KEY).to_uppercase()),
            ("hex: wrapped", wrapped(&hex(KEY), 16, "\n")),
            ("reversed", KEY.chars().rev().collect()),
            (
                "reversed: markdown-escaped",
                md(&KEY.chars().rev().collect::<String>()),
            ),
            ("base64: standard", b64(KEY)),
            ("base64: url-safe", base64(KEY.as_bytes(), true)),
            ("base64: after one byte", b64(&format!("x{KEY}"))),
            ("base64: after two bytes", b64(&format!("xy{KEY}"))),
            ("base64: with a newline after it", b64(&format!("{KEY}\n"))),
            (
                "base64: wrapped at 76 columns",
                wrapped(&b64(&format!("key={KEY}\n")), 76, "\n"),
            ),
            (
                "base64: wrapped at 20 columns, CRLF",
                wrapped(&b64(&format!("ab{KEY}")), 20, "\r\n"),
            ),
            (
                "base64: wrapped at every character",
                wrapped(&b64(&format!("a{KEY}")), 1, "\n"),
            ),
            (
                "base64: wrapped, indented",
                wrapped(&b64(&format!("a{KEY}")), 16, "\n    "),
            ),
            (
                "base64: wrapped, made one line (afk's md_text of it)",
                crate::sanitize::md_text(&wrapped(&b64(&format!("a{KEY}")), 24, "\r\n")),
            ),
            (
                "base64: wrapped, one line break percent-encoded",
                wrapped(&b64(KEY), 8, "\n").replace('/', "%2F"),
            ),
        ];
        for (rule, form) in rows {
            let text = format!("before {form} after");
            let out = s.redact(&text);
            let rest = out.replace(REDACTED, "");
            assert!(
                out.contains(REDACTED) && rest.len() <= "before  after".len() + 10,
                "{rule}: {text:?} -> {out:?}"
            );
        }
        // widths the table does not name
        for width in 1..=80 {
            for nl in ["\n", "\r\n"] {
                let text = wrapped(&b64(&format!("Authorization: Bearer {KEY}")), width, nl);
                let out = s.redact(&text);
                let left = out.replace(REDACTED, "").len();
                assert!(left < text.len() - 30, "width {width}: {text:?} -> {out:?}");
            }
        }
        // what is not a secret's form stays as it was
        let plain_rows: Vec<(&str, String)> = vec![
            ("a prefix of the secret", "sk-ant-api03-Qf9_x2".into()),
            (
                "a markdown-escaped prefix",
                crate::sanitize::md_text("sk-ant-api03-Qf9_x2"),
            ),
            ("a prefix's hex", hex("sk-ant-api03-Q")),
            (
                "a prefix's every-byte percent",
                every_pct("sk-ant-api03", &|b| format!("%{b:02X}")),
            ),
            (
                "another text's base64, wrapped",
                wrapped(&b64("nothing to see here, at all"), 8, "\n"),
            ),
            (
                "the secret broken by a line (not base64)",
                "sk-ant-api03-\nQf9_x2Lm7_vB8/kR+e".into(),
            ),
            (
                "markdown and ordinary escapes",
                "a \\_b\\_ %41%42 &amp; \\u0041 6b65".into(),
            ),
        ];
        for (rule, text) in plain_rows {
            assert_eq!(s.redact(&text), text, "{rule}");
        }
    }

    /// Redaction runs on every byte afk writes: text made to make matching
    /// work (a secret's prefixes, escapes, line breaks, hex and base64
    /// starts, over and over) costs one pass, not one per position.
    #[test]
    fn redaction_costs_one_pass_even_on_text_made_of_a_secrets_prefixes() {
        let key = "sk-ant-api03-Qf9_x2Lm7_vB8/kR+e";
        let s = Secrets::new([key, "another-secret-value-123"]);
        let started = std::time::Instant::now();
        for piece in [
            "sk-ant-api03-Qf9\\_",
            "\\\\\n%%&#&amp",
            "c2stYW50LWFwaTAz\n",
            "736b2d616e74",
            "a",
        ] {
            let text = piece.repeat((256 << 10) / piece.len());
            assert_eq!(s.redact(&text), text, "{piece}");
        }
        // a quadratic scan of these 1.25 MiB would take minutes
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
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
