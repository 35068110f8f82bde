// One file: the secret scan's rules (~500 lines) and the table tests that pin them, kept beside them as everywhere in core.
//! afk pushes no secret (docs/security.md#the-workspace-the-agent-holds-no-forge-credential):
//! before a turn's work is forwarded, the lines its commits add and their
//! messages are searched for every secret afk holds, in its forms
//! (`redact::Secrets`: plain, base64, percent-encoded), and for credentials
//! of a well-known shape ([`shape_in`]). A hit refuses the push; what is said
//! names the file, the line and the kind, never the value. Pure: the lines
//! come in as git printed them (`git log -p`, `git log --format`), one at a
//! time, so the caller bounds what it reads.
//!
//! It catches a mistake and the obvious exfiltration, not a determined
//! agent: a secret split over lines or encoded otherwise is not found.

use crate::redact::Secrets;
use std::borrow::Cow;

/// What was found: a secret afk holds, or a credential's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// one of afk's own secrets (a token, a key, a `runner.secret_env` value)
    Held,
    PemPrivateKey,
    AwsAccessKey,
    GithubToken,
    GitlabToken,
    SlackWebhook,
    SlackToken,
    AnthropicKey,
    OpenaiKey,
    AzureDevopsPat,
}

impl Kind {
    pub fn words(self) -> &'static str {
        match self {
            Kind::Held => "a secret afk holds",
            Kind::PemPrivateKey => "a PEM private key",
            Kind::AwsAccessKey => "an AWS access key id",
            Kind::GithubToken => "a GitHub token",
            Kind::GitlabToken => "a GitLab token",
            Kind::SlackWebhook => "a Slack webhook URL",
            Kind::SlackToken => "a Slack token",
            Kind::AnthropicKey => "an Anthropic API key",
            Kind::OpenaiKey => "an OpenAI API key",
            Kind::AzureDevopsPat => "an Azure DevOps personal access token",
        }
    }
}

/// What `text` holds: a form of a secret of `held` first, else a
/// credential's shape.
pub(crate) fn kind_in(text: &str, held: &[Secrets]) -> Option<Kind> {
    if held.iter().any(|s| matches!(s.redact(text), Cow::Owned(_))) {
        return Some(Kind::Held);
    }
    shape_in(text)
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn upper_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}
fn word(b: u8) -> bool {
    alnum(b) || b == b'_'
}
fn word_dash(b: u8) -> bool {
    word(b) || b == b'-'
}
fn alnum_dash(b: u8) -> bool {
    alnum(b) || b == b'-'
}

/// How many bytes of `class` `s` starts with.
fn run(s: &[u8], class: fn(u8) -> bool) -> usize {
    s.iter().take_while(|b| class(**b)).count()
}

/// Each place `prefix` starts a word in `text` (no letter or digit before
/// it), with what follows it.
fn starts<'t>(text: &'t [u8], prefix: &'t [u8]) -> impl Iterator<Item = &'t [u8]> + 't {
    (0..text.len().saturating_sub(prefix.len() - 1))
        .filter(move |&i| text[i..].starts_with(prefix) && (i == 0 || !alnum(text[i - 1])))
        .map(move |i| &text[i + prefix.len()..])
}

/// `prefix` at a word's start, then `min..=max` bytes of `class`, then no
/// letter or digit.
fn token(text: &[u8], prefix: &[u8], class: fn(u8) -> bool, min: usize, max: usize) -> bool {
    starts(text, prefix).any(|rest| {
        let n = run(rest, class);
        (min..=max).contains(&n) && !rest.get(n).copied().is_some_and(alnum)
    })
}

/// `-----BEGIN [LABEL ]PRIVATE KEY-----` (also `… PRIVATE KEY BLOCK-----`).
fn pem_private_key(t: &[u8]) -> bool {
    starts(t, b"-----BEGIN ").any(|rest| {
        let n = run(&rest[..rest.len().min(64)], |b| upper_digit(b) || b == b' ');
        let label = &rest[..n];
        rest[n..].starts_with(b"-----")
            && [&b"PRIVATE KEY"[..], b"PRIVATE KEY BLOCK"].iter().any(|k| {
                label == *k || (label.ends_with(k) && label[label.len() - k.len() - 1] == b' ')
            })
    })
}

/// `https://hooks.slack.com/services/T…/B…/…`
fn slack_webhook(t: &[u8]) -> bool {
    let mut from = 0;
    let needle = b"hooks.slack.com/services/";
    while let Some(i) = find(&t[from..], needle) {
        let rest = &t[from + i + needle.len()..];
        let parts: Vec<&[u8]> = rest.splitn(4, |b| *b == b'/').collect();
        if let [team, bot, secret, ..] = parts[..]
            && team.first() == Some(&b'T')
            && bot.first() == Some(&b'B')
            && team.len() >= 7
            && bot.len() >= 7
            && run(team, upper_digit) == team.len()
            && run(bot, upper_digit) == bot.len()
            && run(secret, alnum) >= 16
        {
            return true;
        }
        from += i + 1;
    }
    false
}

/// `xox[baprs]-` and at least 10 of `[A-Za-z0-9-]`, a digit among them.
fn slack_token(t: &[u8]) -> bool {
    b"baprs".iter().any(|c| {
        let prefix = [b'x', b'o', b'x', *c, b'-'];
        starts(t, &prefix).any(|rest| {
            let n = run(rest, alnum_dash);
            n >= 10 && rest[..n].iter().any(u8::is_ascii_digit)
        })
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Each maximal run of `class` in `t`.
fn runs(t: &[u8], class: fn(u8) -> bool) -> impl Iterator<Item = &[u8]> {
    t.split(move |b| !class(*b)).filter(|r| !r.is_empty())
}

/// RFC 4648's base32 alphabet in lower case: `a-z`, `2-7`.
fn base32_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)
}

/// An Azure DevOps personal access token, in either of its forms:
/// - Microsoft's common annotated key (PATs made since 2024): 84 letters
///   and digits, the fixed `JQQJ9` at 52 and `9`, `D` or `H` after it, and
///   the provider's `AZDO` at 76 (before the 4-character checksum);
/// - the legacy form: 52 lowercase base32 characters whose embedded CRC-32
///   matches a user's or an application's seed, so that ordinary lowercase
///   text of that length is not taken for one.
fn azure_devops_pat(t: &[u8]) -> bool {
    runs(t, alnum).any(|r| {
        r.len() == 84 && &r[52..57] == b"JQQJ9" && b"9DH".contains(&r[57]) && &r[76..80] == b"AZDO"
    }) || runs(t, base32_lower).any(|r| r.len() == 52 && legacy_pat_checksum(r))
}

/// The seeds a legacy Azure DevOps PAT's checksum is XORed with: a user's
/// token, an application's.
const LEGACY_PAT_SEEDS: [u32; 2] = [0xE0B9_692D, 0x1019_F92E];

/// Whether 52 lowercase base32 characters carry a legacy PAT's checksum:
/// of the 32 bytes they decode to, bytes 22, 8, 7 and 2 (least significant
/// first) are the CRC-32 of the 28 others, XORed with a seed.
fn legacy_pat_checksum(r: &[u8]) -> bool {
    let Some(bytes) = base32_decode_32(r) else {
        return false;
    };
    let held = u32::from_le_bytes([bytes[22], bytes[8], bytes[7], bytes[2]]);
    let crc = crc32(
        bytes
            .iter()
            .enumerate()
            .filter(|(i, _)| ![2, 7, 8, 22].contains(i))
            .map(|(_, b)| *b),
    );
    LEGACY_PAT_SEEDS.iter().any(|seed| (crc ^ seed) == held)
}

/// The first 32 bytes lowercase base32 text decodes to (RFC 4648, most
/// significant bit first); None when it is shorter or holds another byte.
fn base32_decode_32(r: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let (mut acc, mut bits, mut n) = (0u32, 0u32, 0usize);
    for &c in r {
        if n == out.len() {
            break;
        }
        let v = match c {
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out[n] = (acc >> bits) as u8;
            acc &= (1 << bits) - 1;
            n += 1;
        }
    }
    (n == out.len()).then_some(out)
}

/// CRC-32 (IEEE 802.3, reflected, as zlib and Ethernet compute it).
fn crc32(bytes: impl Iterator<Item = u8>) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A credential shape's test over a text's bytes.
type Shape = dyn Fn(&[u8]) -> bool;

/// The credential of a well-known shape `text` holds (the first rule that
/// fires), each matched by hand at a word's start so that a longer word
/// holding the prefix is not one.
pub(crate) fn shape_in(text: &str) -> Option<Kind> {
    let t = text.as_bytes();
    let rules: [(Kind, &Shape); 9] = [
        (Kind::PemPrivateKey, &pem_private_key),
        (Kind::AwsAccessKey, &|t| {
            token(t, b"AKIA", upper_digit, 16, 16) || token(t, b"ASIA", upper_digit, 16, 16)
        }),
        (Kind::GithubToken, &|t| {
            ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
                .iter()
                .any(|p| token(t, p.as_bytes(), alnum, 36, usize::MAX))
                || token(t, b"github_pat_", word, 82, usize::MAX)
        }),
        (Kind::GitlabToken, &|t| {
            token(t, b"glpat-", word_dash, 20, usize::MAX)
        }),
        (Kind::SlackWebhook, &slack_webhook),
        (Kind::SlackToken, &slack_token),
        (Kind::AnthropicKey, &|t| {
            token(t, b"sk-ant-", word_dash, 20, usize::MAX)
        }),
        (Kind::OpenaiKey, &|t| {
            token(t, b"sk-proj-", word_dash, 40, usize::MAX)
                || token(t, b"sk-", alnum, 40, usize::MAX)
        }),
        (Kind::AzureDevopsPat, &azure_devops_pat),
    ];
    rules.iter().find(|(_, fires)| fires(t)).map(|(k, _)| *k)
}

/// Where a finding is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// a line the commit adds to a file (as git names it, quoted when odd)
    Line { file: String, line: u64 },
    /// a line of the commit's message
    Message { line: u64 },
    /// the name of a file the commit adds, changes, renames or copies
    Name,
    /// the commit's author or committer (name or email)
    Identity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub kind: Kind,
    pub place: Place,
    /// the commit's short id
    pub commit: String,
}

/// The longest file name a refusal shows.
const NAME_MAX: usize = 80;

/// The search over what git prints of a turn's commits, line by line.
#[derive(Debug)]
pub struct Scan<'h> {
    held: &'h [Secrets],
    commit: String,
    /// the file whose added lines come (None: a deleted file, one whose
    /// name holds a secret, or before the first `+++`)
    file: Option<String>,
    /// the parents' columns of the hunk being read (0: in a file's header)
    cols: usize,
    /// the new side's next line number
    line: u64,
    /// the file's header named a secret already (said once per file)
    name_said: bool,
    first: Option<Finding>,
    found: usize,
}

impl<'h> Scan<'h> {
    pub fn new(held: &'h [Secrets]) -> Scan<'h> {
        Scan {
            held,
            commit: String::new(),
            file: None,
            cols: 0,
            line: 0,
            name_said: false,
            first: None,
            found: 0,
        }
    }

    fn hit(&mut self, kind: Kind, place: Place) {
        self.found += 1;
        if self.first.is_none() {
            self.first = Some(Finding {
                kind,
                place,
                commit: self.commit.clone(),
            });
        }
    }

    /// A commit's header line (`\0<sha>`): what follows is that commit's.
    fn commit_line(&mut self, line: &str) -> bool {
        match line.strip_prefix('\0') {
            Some(sha) => {
                self.commit = sha.trim().chars().take(12).collect();
                self.file = None;
                self.cols = 0;
                self.line = 0;
                true
            }
            None => false,
        }
    }

    /// One line of `git log --format=%x00%H%n%B`: every line of a message
    /// is searched.
    pub fn message_line(&mut self, line: &str) {
        if self.commit_line(line) {
            return;
        }
        self.line += 1;
        if let Some(k) = kind_in(line, self.held) {
            self.hit(k, Place::Message { line: self.line });
        }
    }

    /// One line of `git log --format=%x00%H%n%an%n%ae%n%cn%n%ce`: each
    /// commit's author and committer, names and emails, are searched.
    pub fn identity_line(&mut self, line: &str) {
        if self.commit_line(line) {
            return;
        }
        if let Some(k) = kind_in(line, self.held) {
            self.hit(k, Place::Identity);
        }
    }

    /// One line of `git log -p --cc -U0 --format=%x00%H`: the lines a
    /// commit adds (a `+` in a parent's column, no `-`) are searched, and
    /// every name its header lines give (`diff --git`, a rename's or a
    /// copy's, an empty file's that has no `+++` line).
    pub fn patch_line(&mut self, line: &str) {
        if self.commit_line(line) {
            return;
        }
        if line.starts_with("diff ") {
            self.file = None;
            self.cols = 0;
            self.name_said = false;
            self.name_line(line);
            return;
        }
        if self.cols == 0
            && ["rename from ", "rename to ", "copy from ", "copy to "]
                .iter()
                .any(|p| line.starts_with(p))
        {
            self.name_line(line);
            return;
        }
        if line.starts_with("@@") {
            let ats = line.bytes().take_while(|b| *b == b'@').count();
            self.cols = ats - 1;
            // `@@ -a,b +c,d @@`: the new side starts at c
            self.line = line[ats..]
                .split_whitespace()
                .find_map(|w| w.strip_prefix('+'))
                .and_then(|r| r.split(',').next()?.parse().ok())
                .unwrap_or(0);
            return;
        }
        if self.cols == 0 {
            if let Some(name) = line.strip_prefix("+++ ") {
                self.file = self.file_of(name);
            }
            return;
        }
        let Some((cols, text)) = line.split_at_checked(self.cols) else {
            return;
        };
        if cols.contains('-') || line.starts_with('\\') {
            return;
        }
        let here = self.line;
        self.line += 1;
        if cols.contains('+')
            && let Some(k) = kind_in(text, self.held)
        {
            let file = self
                .file
                .clone()
                .unwrap_or_else(|| "a file whose name is not shown".to_string());
            self.hit(k, Place::Line { file, line: here });
        }
    }

    /// A header line naming the file: a secret in it is found once a file.
    fn name_line(&mut self, line: &str) {
        if !self.name_said
            && let Some(k) = kind_in(line, self.held)
        {
            self.name_said = true;
            self.hit(k, Place::Name);
        }
    }

    /// The file a `+++ ` line names, as it may be shown: None for a deleted
    /// file, or when the name itself holds a secret (said once, as such).
    fn file_of(&mut self, name: &str) -> Option<String> {
        // git ends a name holding a space with a tab
        let name = name.strip_suffix('\t').unwrap_or(name);
        if name == "/dev/null" {
            return None;
        }
        if self.name_said {
            return None;
        }
        if let Some(k) = kind_in(name, self.held) {
            self.hit(k, Place::Name);
            return None;
        }
        let shown = match name.strip_prefix("\"b/") {
            Some(rest) => format!("\"{rest}"),
            None => name.strip_prefix("b/").unwrap_or(name).to_string(),
        };
        let mut chars = shown.chars();
        let cut: String = chars.by_ref().take(NAME_MAX).collect();
        Some(if chars.next().is_some() {
            format!("{cut}…")
        } else {
            cut
        })
    }

    /// How many were found.
    pub fn found(&self) -> usize {
        self.found
    }

    /// Why the turn is not pushed: the first finding's kind and place, and
    /// how many more; None when nothing was found.
    pub fn refusal(&self) -> Option<String> {
        let f = self.first.as_ref()?;
        let place = match &f.place {
            Place::Line { file, line } => format!("{file}:{line}"),
            Place::Message { line } => format!("the message's line {line}"),
            Place::Name => "a file's name".to_string(),
            Place::Identity => "its author or committer".to_string(),
        };
        let more = match self.found - 1 {
            0 => String::new(),
            n => format!(", and {n} more"),
        };
        Some(format!(
            "the turn's commits hold {} ({place} in commit {}){more}: afk pushes no secret (the value is not shown)",
            f.kind.words(),
            f.commit
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each rule: true positives, and near misses that must not fire.
    #[test]
    fn shape_in_finds_each_credential_shape_and_no_near_miss() {
        let aws = "AKIAQ7XJ3MZP2LK4WN5R";
        let gh36 = "Zx81bQ7mP2kR9tV4wY6nC3dF5gH0jL2sA1eU";
        let pat = format!("github_pat_11ABCDEFG0{}", "a1_B".repeat(18));
        let cases: Vec<(Kind, Vec<String>, Vec<String>)> = vec![
            (
                Kind::PemPrivateKey,
                vec![
                    "-----BEGIN PRIVATE KEY-----".into(),
                    "-----BEGIN RSA PRIVATE KEY-----".into(),
                    "key = \"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3Bl\"".into(),
                    "-----BEGIN ENCRYPTED PRIVATE KEY-----".into(),
                    "-----BEGIN PGP PRIVATE KEY BLOCK-----".into(),
                ],
                vec![
                    "-----BEGIN PUBLIC KEY-----".into(),
                    "-----BEGIN CERTIFICATE-----".into(),
                    "-----BEGIN RSAPRIVATE KEY-----".into(),
                    "-----END RSA PRIVATE KEY-----".into(),
                    "BEGIN PRIVATE KEY".into(),
                    "-----BEGIN PRIVATE KEY----".into(),
                ],
            ),
            (
                Kind::AwsAccessKey,
                vec![
                    aws.into(),
                    format!("aws_access_key_id = {aws}"),
                    "\"ASIAY34FZKBOKMUTVV7A\",".into(),
                ],
                vec![
                    "AKIA1234".into(),
                    format!("{aws}X"),
                    format!("X{aws}"),
                    format!("{aws}b"),
                    "AKIAq7xj3mzp2lk4wn5r".into(),
                    "AGPAQ7XJ3MZP2LK4WN5R".into(),
                ],
            ),
            (
                Kind::GithubToken,
                vec![
                    format!("ghp_{gh36}"),
                    format!("token: gho_{gh36}"),
                    format!("ghs_{gh36}\n"),
                    format!("ghu_{gh36}"),
                    format!("ghr_{gh36}"),
                    pat.clone(),
                ],
                vec![
                    "ghp_short".into(),
                    format!("ghp_{}", &gh36[..35]),
                    format!("xghp_{gh36}"),
                    format!("ghx_{gh36}"),
                    "github_pat_".into(),
                    pat[..pat.len() - 1].to_string(),
                ],
            ),
            (
                Kind::GitlabToken,
                vec![
                    "glpat-xK9_2mN-4pQ7rS1tU3vW".into(),
                    "GITLAB_TOKEN=glpat-abcdefghij0123456789".into(),
                ],
                vec!["glpat-x".into(), "glpat-abcdefghij012345678".into()],
            ),
            (
                Kind::SlackWebhook,
                vec![
                    "https://hooks.slack.com/services/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"
                        .into(),
                ],
                vec![
                    "https://hooks.slack.com/services/".into(),
                    "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/".into(),
                    "https://hooks.slack.com/services/T012/B045/Xy12Ab34Cd56Ef78Gh90Ij12".into(),
                    "https://hooks.slack.com/services/t0123abcd/b0456efgh/Xy12Ab34Cd56Ef78Gh90Ij12"
                        .into(),
                ],
            ),
            (
                Kind::SlackToken,
                vec![
                    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx".into(),
                    "SLACK=xoxp-1234567890".into(),
                ],
                vec![
                    "xoxb-".into(),
                    "xoxb-abcdefghijkl".into(),
                    "xoxz-123456789012".into(),
                    "axoxb-123456789012".into(),
                ],
            ),
            (
                Kind::AnthropicKey,
                vec![
                    "sk-ant-api03-AbCdEfGhIjKlMnOpQrSt".into(),
                    "ANTHROPIC_API_KEY=sk-ant-test-9d2e7b41c6a8f035e1".into(),
                ],
                vec![
                    "sk-ant-".into(),
                    "sk-ant-short".into(),
                    "mask-ant-AbCdEfGhIjKlMnOpQrStUv".into(),
                ],
            ),
            (
                Kind::OpenaiKey,
                vec![
                    format!("sk-proj-{}", "Ab3_-x".repeat(7)),
                    format!("OPENAI_API_KEY=sk-{}", "a1B2".repeat(12)),
                ],
                vec![
                    "sk-proj-abc".into(),
                    format!("sk-{}", "a1B2".repeat(9)),
                    format!("desk-{}", "a1B2".repeat(12)),
                    format!("sk-{}", "a1-B".repeat(12)),
                ],
            ),
        ];
        for (kind, hits, misses) in cases {
            for t in hits {
                assert_eq!(shape_in(&t), Some(kind), "{kind:?} should fire on {t:?}");
            }
            for t in misses {
                assert_eq!(shape_in(&t), None, "{kind:?} fired on the near miss {t:?}");
            }
        }
        for plain in [
            "fn main() {}",
            "",
            "-----",
            "sk-",
            "AKIA",
            "https://example.com/",
        ] {
            assert_eq!(shape_in(plain), None, "{plain:?}");
        }
    }

    /// RFC 4648's base32 in lower case, unpadded (the legacy PAT's form).
    fn base32_encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
        let (mut acc, mut bits, mut out) = (0u32, 0u32, String::new());
        for &b in bytes {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
        }
        out
    }

    /// A legacy Azure DevOps PAT: 32 bytes from `fill`, the CRC-32 of the
    /// 28 others XORed with `seed` in bytes 22, 8, 7 and 2, as base32.
    fn legacy_pat(seed: u32, fill: u8) -> String {
        let mut bytes: [u8; 32] =
            std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(fill));
        let crc = crc32(
            bytes
                .iter()
                .enumerate()
                .filter(|(i, _)| ![2, 7, 8, 22].contains(i))
                .map(|(_, b)| *b),
        );
        let [a, b, c, d] = (crc ^ seed).to_le_bytes();
        (bytes[22], bytes[8], bytes[7], bytes[2]) = (a, b, c, d);
        base32_encode(&bytes)
    }

    /// The pieces of the legacy PAT's checksum are the standard ones:
    /// CRC-32's check value, RFC 4648's base32.
    #[test]
    fn azure_devops_legacy_pat_checksum_is_crc32_over_base32() {
        assert_eq!(crc32(b"123456789".iter().copied()), 0xCBF4_3926);
        assert_eq!(crc32(std::iter::empty::<u8>()), 0);
        assert_eq!(base32_encode(b"foobar"), "mzxw6ytboi");
        let bytes: [u8; 32] = std::array::from_fn(|i| (i as u8) * 7 + 1);
        let text = base32_encode(&bytes);
        assert_eq!(text.len(), 52);
        assert_eq!(base32_decode_32(text.as_bytes()), Some(bytes));
        assert_eq!(base32_decode_32(&text.as_bytes()[..51]), None);
        assert_eq!(base32_decode_32(text.to_uppercase().as_bytes()), None);
        for seed in LEGACY_PAT_SEEDS {
            assert!(legacy_pat_checksum(legacy_pat(seed, 3).as_bytes()));
        }
        assert!(!legacy_pat_checksum(legacy_pat(0x1234_5678, 3).as_bytes()));
    }

    /// Either form of an Azure DevOps PAT fires; text of the same length
    /// and alphabet without its signature or its checksum does not.
    #[test]
    fn azure_devops_pat_either_form_is_found_and_ordinary_text_is_not() {
        let random = "Fq7Zk2mP9x".repeat(5) + "W4";
        let annotated = |fixed: &str, provider: &str| {
            format!("{random}{fixed}BA{}{provider}Ab3x", "A".repeat(16))
        };
        let pat = annotated("JQQJ99", "AZDO");
        assert_eq!(pat.len(), 84);
        let user = legacy_pat(LEGACY_PAT_SEEDS[0], 11);
        let app = legacy_pat(LEGACY_PAT_SEEDS[1], 200);
        let mut broken = user.clone().into_bytes();
        broken[10] = if broken[10] == b'a' { b'b' } else { b'a' };
        let broken = String::from_utf8(broken).unwrap();
        let hits = [
            pat.clone(),
            format!("AZURE_DEVOPS_EXT_PAT={pat}"),
            format!("\"token\": \"{pat}\","),
            annotated("JQQJ9D", "AZDO"),
            annotated("JQQJ9H", "AZDO"),
            user.clone(),
            app.clone(),
            format!("pat: {user}\n"),
            format!("X{app}"),
        ];
        let misses = [
            // another provider's key, a signature out of place
            annotated("JQQJ99", "ACOG"),
            annotated("JQQJ98", "AZDO"),
            annotated("JQQJ9X", "AZDO"),
            format!("{random}xJQQJ99BA{}AZDOAb3", "A".repeat(16)),
            // one letter or digit too many or too few
            format!("{pat}a"),
            format!("a{pat}"),
            pat[1..].to_string(),
            // lowercase base32 of a PAT's length without its checksum
            broken,
            legacy_pat(0x1234_5678, 11),
            "abcdefghijklmnopqrstuvwxyz".repeat(2),
            "deadbeefcafe".repeat(5)[..52].to_string(),
            format!("{user}a"),
            format!("a{user}"),
            user[..51].to_string(),
            user.to_uppercase(),
        ];
        for t in hits {
            assert_eq!(shape_in(&t), Some(Kind::AzureDevopsPat), "{t:?}");
        }
        for t in misses {
            assert_eq!(shape_in(&t), None, "fired on the near miss {t:?}");
        }
    }

    #[test]
    fn kind_in_finds_a_held_secret_in_its_forms_before_a_shape() {
        let token = "tok-5e1d9c3b/7a2f+4e6d";
        let held = [Secrets::new([token])];
        assert_eq!(
            kind_in(&format!("x = \"{token}\""), &held),
            Some(Kind::Held)
        );
        assert_eq!(
            kind_in("tok-5e1d9c3b%2F7a2f%2B4e6d", &held),
            Some(Kind::Held)
        );
        // a held secret shaped like a key is said as afk's
        let key = "sk-ant-test-9d2e7b41c6a8f035e1";
        assert_eq!(kind_in(key, &[Secrets::new([key])]), Some(Kind::Held));
        assert_eq!(kind_in(key, &[]), Some(Kind::AnthropicKey));
        assert_eq!(kind_in("tok-5e1d9c3b", &held), None);
    }

    fn scan_patch(held: &[Secrets], patch: &str) -> Option<String> {
        let mut s = Scan::new(held);
        patch.lines().for_each(|l| s.patch_line(l));
        s.refusal()
    }

    #[test]
    fn a_patch_hit_names_the_file_line_kind_and_commit_never_the_value() {
        let aws = "AKIAQ7XJ3MZP2LK4WN5R";
        let sha = "a8ff63cbdec7aa00112233445566778899aabbcc";
        let patch = format!(
            "\0{sha}\n\
             diff --git a/app/x.py b/app/x.py\n\
             new file mode 100644\n\
             index 0000000..1111111\n\
             --- /dev/null\n\
             +++ b/app/x.py\n\
             @@ -0,0 +1,3 @@\n\
             +a = 1\n\
             +b = 2\n\
             +key = \"{aws}\"\n"
        );
        let why = scan_patch(&[], &patch).unwrap();
        assert_eq!(
            why,
            "the turn's commits hold an AWS access key id (app/x.py:3 in commit a8ff63cbdec7): afk pushes no secret (the value is not shown)"
        );
        assert!(!why.contains(aws));
    }

    #[test]
    fn only_added_lines_count_and_lines_are_numbered_on_the_new_side() {
        let aws = "AKIAQ7XJ3MZP2LK4WN5R";
        // removed lines and a deleted file's lines are not the push's
        let removed = format!(
            "\0abc\ndiff --git a/k b/k\n--- a/k\n+++ b/k\n@@ -4,2 +3,0 @@\n-{aws}\n-x\n\
             diff --git a/gone b/gone\ndeleted file mode 100644\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-{aws}\n"
        );
        assert_eq!(scan_patch(&[], &removed), None);
        // a second hunk restarts the count; a line without a newline at the end
        let two = format!(
            "\0abc\ndiff --git a/k b/k\n--- a/k\n+++ b/k\n@@ -1 +1 @@\n-a\n+b\n\
             @@ -10,2 +20,3 @@ fn section() {aws}\n-c\n+d\n+e\n+{aws}\n\\ No newline at end of file\n"
        );
        assert!(
            scan_patch(&[], &two)
                .unwrap()
                .contains("(k:22 in commit abc)")
        );
        // a name with a space ends with a tab; a quoted name keeps its quotes
        let named = format!(
            "\0abc\ndiff --git a/my file b/my file\n--- /dev/null\n+++ b/my file\t\n@@ -0,0 +1 @@\n+{aws}\n\
             diff --git \"a/t\\tb\" \"b/t\\tb\"\n--- /dev/null\n+++ \"b/t\\tb\"\n@@ -0,0 +1 @@\n+{aws}\n"
        );
        let why = scan_patch(&[], &named).unwrap();
        assert!(
            why.contains("(my file:1 in commit abc), and 1 more"),
            "{why}"
        );
    }

    #[test]
    fn a_merge_s_combined_diff_counts_only_lines_new_to_the_result() {
        let aws = "AKIAQ7XJ3MZP2LK4WN5R";
        let cc = format!(
            "\0m1\ndiff --cc f\nindex 1,2..3\n--- a/f\n--- a/f\n+++ b/f\n@@@ -1,1 -1,1 +1,3 @@@\n  \n- {aws}\n++ ok\n +{aws}\n"
        );
        assert!(scan_patch(&[], &cc).unwrap().contains("(f:3 in commit m1)"));
        let clean = "\0m1\ndiff --cc f\n--- a/f\n--- a/f\n+++ b/f\n@@@ -1,1 -1,1 +1,2 @@@\n- AKIAQ7XJ3MZP2LK4WN5R\n++ ok\n";
        assert_eq!(scan_patch(&[], clean), None);
    }

    #[test]
    fn a_file_name_or_a_message_holding_a_secret_is_said_without_it() {
        let token = "test-forge-token";
        let held = [Secrets::new([token])];
        let patch = format!(
            "\0abc\ndiff --git a/{token}.txt b/{token}.txt\n--- /dev/null\n+++ b/{token}.txt\n@@ -0,0 +1 @@\n+ordinary\n"
        );
        let why = scan_patch(&held, &patch).unwrap();
        assert!(
            why.contains("a secret afk holds (a file's name in commit abc)"),
            "{why}"
        );
        assert!(!why.contains(token));
        let mut s = Scan::new(&held);
        for l in [
            "\0def",
            "fix",
            "",
            &format!("use {token}"),
            "\0abc",
            "clean",
        ] {
            s.message_line(l);
        }
        assert_eq!(s.found(), 1);
        let why = s.refusal().unwrap();
        assert!(
            why.contains("(the message's line 3 in commit def)"),
            "{why}"
        );
    }

    #[test]
    fn a_secret_in_a_commits_metadata_is_found_as_in_its_lines() {
        let token = "test-forge-token";
        let held = [Secrets::new([token])];
        // (patch lines, place found)
        let cases: Vec<(String, Option<&str>)> = vec![
            // an empty file: no `+++` line, only its header names it
            (
                format!(
                    "\0e1\ndiff --git a/{token} b/{token}\nnew file mode 100644\nindex 0000000..e69de29\n"
                ),
                Some("a file's name"),
            ),
            // a file renamed, its content unchanged
            (
                format!(
                    "\0r1\ndiff --git a/ok.txt b/{token}.txt\nsimilarity index 100%\nrename from ok.txt\nrename to {token}.txt\n"
                ),
                Some("a file's name"),
            ),
            (
                "\0c1\ndiff --git a/ok.txt b/ok2.txt\ncopy from ok.txt\ncopy to ok2.txt\n"
                    .to_string(),
                None,
            ),
        ];
        for (patch, want) in cases {
            let mut s = Scan::new(&held);
            patch.lines().for_each(|l| s.patch_line(l));
            let why = s.refusal();
            assert_eq!(
                why.as_deref().map(|w| w.contains(want.unwrap_or("-"))),
                want.map(|_| true),
                "{patch}: {why:?}"
            );
            assert_eq!(s.found(), usize::from(want.is_some()), "{patch}");
        }
        // an author's name or email, a committer's
        for who in [token.to_string(), format!("{token}@example.org")] {
            let mut s = Scan::new(&held);
            for l in ["\0a1", "Ann", "ann@example.org", &who, "c@example.org"] {
                s.identity_line(l);
            }
            let why = s.refusal().unwrap();
            assert!(
                why.contains("its author or committer in commit a1"),
                "{why}"
            );
            assert!(!why.contains(token));
        }
    }
}
