// One file: tag selection (~340 lines) and its table tests (one row per registry's tag shape), kept beside it as everywhere in core.
//! Image tag selection for `afk upgrade` (docs/how-it-works.md#afk-upgrade):
//! which of a registry's tags an image may move to, and what kind of update
//! that is. Pure text.
//!
//! A tag reads `[prefix]version[pre-release][-suffix][-rN]`. A tag qualifies as
//! an upgrade only if it keeps the current tag's *shape*: the same prefix (`v`
//! or none), the same kind of version (semver-like or date-like), the same
//! number of version parts, the same suffix, and a build revision exactly when
//! the current tag has one. Pre-releases, hashes and words never qualify.
//!
//! Where this differs from Renovate's docker versioning, on purpose: a current
//! pre-release (`2.8.0-rc1`, whose `-rc1` Renovate takes for a suffix) moves to
//! its final release; date-like versions (`20240115`, `2024.01.15`) are never
//! ordered against semver-like ones; a trailing `-rN` is a build revision
//! compared as a number rather than part of the suffix, so Bitnami's
//! `-debian-11-r10` tags move at all; a bare number of 6 or more digits that
//! is not a date (`2041837`) is a build id, never a version: `15` → `16`,
//! never `15` → `2041837`, unless the current tag is a build id too.

use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

/// How far a candidate moves from the current tag; `Display` is the report string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateType {
    Revision,
    Patch,
    Minor,
    Major,
}

impl fmt::Display for UpdateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpdateType::Major => "major",
            UpdateType::Minor => "minor",
            UpdateType::Patch => "patch",
            UpdateType::Revision => "revision",
        })
    }
}

/// A tag the image could move to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub tag: String,
    pub update_type: UpdateType,
}

/// The best upgrade within the current major, and the best one of a higher major
/// (to be used only with `allow_major`). Both are `None` when the current tag is
/// not a version (`latest`, a hash) or nothing newer of its shape exists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    pub same_major: Option<Candidate>,
    pub higher_major: Option<Candidate>,
}

impl Selection {
    /// The candidate a PR proposes: within the current major, unless
    /// `allow_major`, when a higher major wins; None: no bump.
    pub fn chosen(&self, allow_major: bool) -> Option<&Candidate> {
        match (&self.same_major, &self.higher_major) {
            (_, Some(h)) if allow_major => Some(h),
            (Some(s), _) => Some(s),
            _ => None,
        }
    }
}

/// Picks the upgrade candidates for `current` among a registry's `tags`.
pub fn select(current: &str, tags: &[String]) -> Selection {
    let Some(cur) = Tag::parse(current) else {
        return Selection::default();
    };
    let mut same: Option<Tag> = None;
    let mut higher: Option<Tag> = None;
    for t in tags.iter().filter_map(|s| Tag::parse(s)) {
        if t.pre || !t.same_shape(&cur) || t.cmp_version(&cur) != Ordering::Greater {
            continue;
        }
        let slot = if t.is_higher_major(&cur) {
            &mut higher
        } else {
            &mut same
        };
        if slot.as_ref().is_none_or(|best| t.is_better_than(best)) {
            *slot = Some(t);
        }
    }
    let candidate = |t: Tag| Candidate {
        update_type: cur.update_type_to(&t),
        tag: t.text.to_string(),
    };
    Selection {
        same_major: same.map(candidate),
        higher_major: higher.map(candidate),
    }
}

/// Orders two tags of the same shape (prefix, kind, parts, suffix, revision);
/// `None` when they are not comparable, e.g. `1.25-alpine` and `1.26`, or `15`
/// and `20240115`. A pre-release sorts before its final release.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (Tag::parse(a)?, Tag::parse(b)?);
    a.same_shape(&b).then(|| a.cmp_version(&b))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Semver,
    /// `YYYYMMDD[hhmm[ss]]`, split into its fields.
    DateCompact,
    /// `YYYY.MM.DD…` and other dotted versions led by a year (CalVer).
    DateDotted,
    /// `YYYY-MM-DD`.
    DateDashed,
    /// A bare number of 6 or more digits that is not a date (`2041837`): a
    /// build id or a CI run number, never a version; it compares only with
    /// another build id (when the current tag is one too).
    BuildId,
}

#[derive(Debug, Clone)]
struct Tag<'a> {
    text: &'a str,
    v_prefix: bool,
    kind: Kind,
    parts: Vec<u64>,
    pre: bool,
    /// Without its leading `-` and without the revision: `debian-11`, `alpine`, ``.
    suffix: &'a str,
    revision: Option<u64>,
}

impl<'a> Tag<'a> {
    fn parse(text: &'a str) -> Option<Tag<'a>> {
        if text.is_empty() || text.len() > 128 || is_hash(text) {
            return None;
        }
        let (v_prefix, rest) = match text.strip_prefix('v') {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => (true, r),
            _ => (false, text),
        };
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None; // a word: latest, stable-alpine, sha-3f2a1bc, mainline
        }
        let (kind, parts, rest) = match dashed_date(rest) {
            Some((parts, rest)) => (Kind::DateDashed, parts, rest),
            None => version(rest)?,
        };
        // A pre-release marker written onto the number: 3.13.0b1, 1.0rc2.
        let (mut pre, rest) = if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let end = rest.find('-').unwrap_or(rest.len());
            (true, &rest[end..])
        } else {
            (false, rest)
        };
        let (suffix, revision) = if rest.is_empty() {
            ("", None)
        } else {
            let mut suffix = rest.strip_prefix('-')?;
            if suffix.split('-').any(str::is_empty) {
                return None;
            }
            let first = suffix.split('-').next().unwrap_or("");
            if is_prerelease_word(first) {
                pre = true;
                suffix = suffix[first.len()..].trim_start_matches('-');
            }
            let last = suffix.rsplit('-').next().unwrap_or("");
            match last.strip_prefix('r').and_then(number) {
                Some(r) => {
                    let base = &suffix[..suffix.len() - last.len()];
                    (base.trim_end_matches('-'), Some(r))
                }
                None => (suffix, None),
            }
        };
        Some(Tag {
            text,
            v_prefix,
            kind,
            parts,
            pre,
            suffix,
            revision,
        })
    }

    fn same_shape(&self, o: &Tag) -> bool {
        self.v_prefix == o.v_prefix
            && self.kind == o.kind
            && self.parts.len() == o.parts.len()
            && self.suffix == o.suffix
            && self.revision.is_some() == o.revision.is_some()
    }

    /// Version order: the numbers, then final after pre-release, then revision.
    fn cmp_version(&self, o: &Tag) -> Ordering {
        self.parts
            .cmp(&o.parts)
            .then(o.pre.cmp(&self.pre))
            .then(self.revision.cmp(&o.revision))
    }

    /// Ties in version (`1.2` and `01.2`) go to the smaller text so the choice
    /// does not depend on the registry's order.
    fn is_better_than(&self, o: &Tag) -> bool {
        self.cmp_version(o).then(o.text.cmp(self.text)) == Ordering::Greater
    }

    /// Dates have no major: a new year is not a breaking change.
    fn is_higher_major(&self, cur: &Tag) -> bool {
        self.kind == Kind::Semver && self.parts[0] > cur.parts[0]
    }

    fn update_type_to(&self, new: &Tag) -> UpdateType {
        match self.parts.iter().zip(&new.parts).position(|(a, b)| a != b) {
            Some(0) if self.kind == Kind::Semver => UpdateType::Major,
            Some(0 | 1) => UpdateType::Minor,
            Some(_) => UpdateType::Patch,
            // Same numbers: a new build revision, or the final of a pre-release.
            None if self.revision != new.revision => UpdateType::Revision,
            None => UpdateType::Patch,
        }
    }
}

/// `\d+(\.\d+)*` at the start of `s`, classified, and what follows it.
fn version(s: &str) -> Option<(Kind, Vec<u64>, &str)> {
    let mut end = 0;
    let b = s.as_bytes();
    loop {
        let start = end;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return None; // `1.` or `1..2`
        }
        if end < b.len() && b[end] == b'.' {
            end += 1;
        } else {
            break;
        }
    }
    let fields: Vec<&str> = s[..end].split('.').collect();
    let rest = &s[end..];
    if let [one] = fields[..]
        && let Some(parts) = compact_date(one)
    {
        return Some((Kind::DateCompact, parts, rest));
    }
    let parts = fields
        .iter()
        .map(|f| number(f))
        .collect::<Option<Vec<u64>>>()?;
    if let [one] = fields[..]
        && one.len() >= 6
    {
        return Some((Kind::BuildId, parts, rest));
    }
    let kind = if fields.len() >= 2 && fields[0].len() == 4 && is_year(parts[0]) {
        Kind::DateDotted
    } else {
        Kind::Semver
    };
    Some((kind, parts, rest))
}

/// `YYYYMMDD`, `YYYYMMDDhhmm` or `YYYYMMDDhhmmss` with a plausible date.
fn compact_date(s: &str) -> Option<Vec<u64>> {
    if !matches!(s.len(), 8 | 12 | 14) {
        return None;
    }
    let parts: Vec<u64> = [0..4, 4..6, 6..8, 8..10, 10..12, 12..14]
        .into_iter()
        .filter(|r| r.end <= s.len())
        .map(|r| number(&s[r]))
        .collect::<Option<_>>()?;
    plausible_date(&parts).then_some(parts)
}

/// `YYYY-MM-DD` at the start of `s`, and what follows it (nothing or a suffix).
fn dashed_date(s: &str) -> Option<(Vec<u64>, &str)> {
    let head = s.get(..10)?;
    let b = head.as_bytes();
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let parts = [&head[..4], &head[5..7], &head[8..]]
        .into_iter()
        .map(number)
        .collect::<Option<Vec<u64>>>()?;
    let rest = &s[10..];
    (plausible_date(&parts) && (rest.is_empty() || rest.starts_with('-'))).then_some((parts, rest))
}

fn plausible_date(p: &[u64]) -> bool {
    is_year(p[0]) && (1..=12).contains(&p[1]) && (1..=31).contains(&p[2])
}

fn is_year(n: u64) -> bool {
    (1970..=2099).contains(&n)
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A short or full git hash: 7 to 40 lowercase hex digits, not all of them digits.
fn is_hash(s: &str) -> bool {
    (7..=40).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        && !s.bytes().all(|c| c.is_ascii_digit())
}

/// `rc1`, `rc.1`, `beta.2`, `alpha`, `b1`, `preview3`…: a word from the list,
/// then nothing but digits and dots.
fn is_prerelease_word(seg: &str) -> bool {
    // Not `dev`: Chainguard's `-dev` is a flavour of a final release, not a pre-release.
    const WORDS: [&str; 10] = [
        "alpha", "beta", "rc", "pre", "preview", "snapshot", "nightly", "canary", "a", "b",
    ];
    let lower = seg.to_ascii_lowercase();
    let word_end = lower
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(lower.len());
    let (word, tail) = lower.split_at(word_end);
    WORDS.contains(&word) && tail.bytes().all(|c| c.is_ascii_digit() || c == b'.')
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_higher_major_wins_only_with_allow_major() {
        let tags: Vec<String> = ["1.26.0", "2.0.0", "1.25.4"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let sel = select("1.25.3", &tags);
        let none = select("1.25.3", &[]);
        let chosen = |s: &Selection, allow: bool| s.chosen(allow).map(|c| c.tag.clone());
        for (sel, allow, want) in [
            (&sel, false, Some("1.26.0")),
            (&sel, true, Some("2.0.0")),
            (&none, false, None),
            (&none, true, None),
        ] {
            assert_eq!(chosen(sel, allow).as_deref(), want, "allow_major={allow}");
        }
        let only_higher = select("1.26.0", &["2.0.0".to_string()]);
        assert_eq!(
            chosen(&only_higher, false),
            None,
            "no major without allow_major"
        );
        assert_eq!(chosen(&only_higher, true).as_deref(), Some("2.0.0"));
    }

    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn same(current: &str, list: &[&str]) -> Option<(String, String)> {
        select(current, &tags(list))
            .same_major
            .map(|c| (c.tag, c.update_type.to_string()))
    }

    fn higher(current: &str, list: &[&str]) -> Option<(String, String)> {
        select(current, &tags(list))
            .higher_major
            .map(|c| (c.tag, c.update_type.to_string()))
    }

    fn want(tag: &str, kind: &str) -> Option<(String, String)> {
        Some((tag.to_string(), kind.to_string()))
    }

    #[test]
    fn suffix_is_kept_exactly() {
        let cases = [
            (
                "1.25.3-alpine",
                vec!["1.25.4-alpine-perl", "1.25.4", "1.25.3-alpine"],
                None,
            ),
            (
                "1.25.3-alpine",
                vec!["1.25.4-alpine-perl", "1.25.4-alpine"],
                want("1.25.4-alpine", "patch"),
            ),
            ("1.25.3", vec!["1.25.4-alpine", "1.25.4-perl"], None),
            (
                "1.25.3",
                vec!["1.25.4-alpine", "1.25.5"],
                want("1.25.5", "patch"),
            ),
            (
                "3.12-slim",
                vec!["3.13-slim-bookworm", "3.13", "3.13-slim"],
                want("3.13-slim", "minor"),
            ),
            (
                "1.25-alpine3.19",
                vec!["1.26-alpine3.20", "1.26-alpine3.19"],
                want("1.26-alpine3.19", "minor"),
            ),
            (
                "1.25-dev",
                vec!["1.26", "1.26-dev"],
                want("1.26-dev", "minor"),
            ),
        ];
        for (cur, list, expected) in cases {
            assert_eq!(same(cur, &list), expected, "current {cur}, tags {list:?}");
        }
    }

    #[test]
    fn a_bare_number_of_six_digits_or_more_is_a_build_id_unless_the_current_tag_is_one() {
        // (current, tags, best of the same major, best of a higher major)
        let cases = [
            ("15", vec!["16", "2041837"], None, want("16", "major")),
            ("15", vec!["2041837", "3081422"], None, None),
            (
                "15",
                vec!["15", "99999", "100000"],
                None,
                want("99999", "major"),
            ),
            ("15.4", vec!["15.6", "2041837"], want("15.6", "minor"), None),
            (
                "2041837",
                vec!["2041900", "16", "2041836"],
                want("2041900", "minor"),
                None,
            ),
            (
                "2041837-alpine",
                vec!["2041900-alpine", "2041901"],
                want("2041900-alpine", "minor"),
                None,
            ),
            (
                "15-alpine",
                vec!["2041837-alpine", "16-alpine"],
                None,
                want("16-alpine", "major"),
            ),
            // a date stays a date: 20240115 is not a build id
            (
                "20240115",
                vec!["20240301", "2041837"],
                want("20240301", "minor"),
                None,
            ),
            ("15", vec!["20240115"], None, None),
        ];
        for (cur, list, same_want, higher_want) in cases {
            assert_eq!(
                (same(cur, &list), higher(cur, &list)),
                (same_want, higher_want),
                "current {cur}, tags {list:?}"
            );
        }
        assert_eq!(compare("15", "2041837"), None);
        assert_eq!(compare("2041837", "2041900"), Some(Ordering::Less));
    }

    #[test]
    fn alpine_never_becomes_alpine_perl() {
        assert_eq!(same("1.25.3-alpine", &["1.27.0-alpine-perl"]), None);
        assert_eq!(higher("1.25.3-alpine", &["2.0.0-alpine-perl"]), None);
    }

    #[test]
    fn same_number_of_version_parts() {
        let cases = [
            ("7.2", vec!["7.4.1", "7.4", "7.3"], want("7.4", "minor")),
            ("7.2", vec!["7.4.1", "8"], None),
            ("7.2.0", vec!["7.4", "7.2.1"], want("7.2.1", "patch")),
            ("15", vec!["15.4", "15.4.1"], None),
            (
                "1.2.3.4",
                vec!["1.2.3.5", "1.2.4"],
                want("1.2.3.5", "patch"),
            ),
        ];
        for (cur, list, expected) in cases {
            assert_eq!(same(cur, &list), expected, "current {cur}, tags {list:?}");
        }
    }

    #[test]
    fn same_prefix_v_or_none() {
        let cases = [
            (
                "v2.10.4",
                vec!["2.12.0", "v2.11.0"],
                want("v2.11.0", "minor"),
            ),
            ("2.10.4", vec!["v2.12.0", "2.11.0"], want("2.11.0", "minor")),
            ("v2.10.4", vec!["2.12.0"], None),
            ("version-2.10", vec!["version-2.11"], None),
        ];
        for (cur, list, expected) in cases {
            assert_eq!(same(cur, &list), expected, "current {cur}, tags {list:?}");
        }
    }

    #[test]
    fn prereleases_are_never_chosen() {
        let cases = [
            ("2.7.0", vec!["2.8.0-rc1", "2.7.1"], want("2.7.1", "patch")),
            (
                "3.12.1",
                vec!["3.13.0b1", "3.13.0a2", "3.13.0rc1", "3.12.2"],
                want("3.12.2", "patch"),
            ),
            (
                "1.0.0",
                vec![
                    "1.1.0-beta.2",
                    "1.1.0-alpha",
                    "1.1.0-rc.1",
                    "1.1.0-preview3",
                ],
                None,
            ),
            (
                "1.0.0-alpine",
                vec!["1.1.0-rc1-alpine", "1.0.1-alpine"],
                want("1.0.1-alpine", "patch"),
            ),
            ("3.12-slim", vec!["3.13.0b1-slim", "3.13b1-slim"], None),
        ];
        for (cur, list, expected) in cases {
            assert_eq!(same(cur, &list), expected, "current {cur}, tags {list:?}");
        }
        assert_eq!(higher("2.7.0", &["3.0.0-rc1", "3.0.0b2"]), None);
    }

    #[test]
    fn a_current_prerelease_moves_to_a_final_release() {
        let cases = [
            (
                "2.8.0-rc1",
                vec!["2.8.0-rc2", "2.8.0"],
                want("2.8.0", "patch"),
            ),
            ("2.8.0-rc1", vec!["2.7.9", "2.8.0-rc2"], None),
            ("2.8.0-rc1", vec!["2.8.0", "2.9.1"], want("2.9.1", "minor")),
            (
                "3.13.0b1",
                vec!["3.13.0rc1", "3.13.0"],
                want("3.13.0", "patch"),
            ),
            (
                "3.13.0b1-slim",
                vec!["3.13.0", "3.13.1-slim"],
                want("3.13.1-slim", "patch"),
            ),
            (
                "1.0.0-beta.2",
                vec!["1.0.0", "0.9.0"],
                want("1.0.0", "patch"),
            ),
        ];
        for (cur, list, expected) in cases {
            assert_eq!(same(cur, &list), expected, "current {cur}, tags {list:?}");
        }
        assert_eq!(higher("2.8.0-rc1", &["3.0.0"]), want("3.0.0", "major"));
    }

    #[test]
    fn hashes_and_words_are_skipped() {
        let words = [
            "3f2a1bc",
            "sha-3f2a1bc",
            "latest",
            "stable-alpine",
            "mainline",
            "stable",
            "edge",
            "alpine",
            "nightly",
            "0123456789abcdef0123456789abcdef01234567",
        ];
        for w in words {
            assert_eq!(select("1.0", &tags(&[w])), Selection::default(), "tag {w}");
            assert_eq!(
                select(w, &tags(&["1.1", "2.0", "9999999"])),
                Selection::default(),
                "current {w}"
            );
        }
    }

    #[test]
    fn dates_never_compare_with_semver() {
        let cases = [
            ("15", vec!["20240115", "2024.01.15", "2024-01-15"], None),
            ("15.4", vec!["2024.01", "20240115"], None),
            ("20240115", vec!["15", "16", "2025.01.01"], None),
            (
                "20240115",
                vec!["20240201", "20231231", "202402011200"],
                want("20240201", "minor"),
            ),
            (
                "2024.01.15",
                vec!["2024.01.20", "20250101"],
                want("2024.01.20", "patch"),
            ),
            (
                "2024.01.15",
                vec!["2025.02.01", "2024.01.20"],
                want("2025.02.01", "minor"),
            ),
            (
                "2024-01-15",
                vec!["2024-03-01", "2024.04.01"],
                want("2024-03-01", "minor"),
            ),
            (
                "2024.1.3",
                vec!["2024.1.4", "2024.2.0"],
                want("2024.2.0", "minor"),
            ),
        ];
        for (cur, list, expected) in cases {
            assert_eq!(same(cur, &list), expected, "current {cur}, tags {list:?}");
        }
        // A new year is not a major: a date is never held back for allow_major.
        assert_eq!(higher("2024.01.15", &["2025.01.01"]), None);
        assert_eq!(higher("15", &["20240115", "16"]), want("16", "major"));
    }

    #[test]
    fn build_revision_compares_numerically_within_base_and_suffix() {
        let bitnami = [
            "15.4.0-debian-11-r10",
            "15.4.0-debian-11-r9",
            "15.4.0-debian-11-r12",
            "15.4.0-debian-12-r1",
            "15.5.0-debian-11-r2",
            "15.5.0-debian-11-r20",
            "15.5.0",
            "15.5.0-debian-11",
            "16.1.0-debian-11-r3",
        ];
        let cases = [
            (
                "15.4.0-debian-11-r10",
                want("15.5.0-debian-11-r20", "minor"),
            ),
            (
                "15.5.0-debian-11-r2",
                want("15.5.0-debian-11-r20", "revision"),
            ),
            ("15.5.0-debian-11-r20", None),
            ("15.4.0-r1", None),
        ];
        for (cur, expected) in cases {
            assert_eq!(same(cur, &bitnami), expected, "current {cur}");
        }
        let only_revisions = [
            "15.4.0-debian-11-r9",
            "15.4.0-debian-11-r12",
            "15.4.0-debian-11-r11",
        ];
        assert_eq!(
            same("15.4.0-debian-11-r10", &only_revisions),
            want("15.4.0-debian-11-r12", "revision")
        );
        assert_eq!(
            same("1.2.3-r10", &["1.2.3-r9", "1.2.3-r12"]),
            want("1.2.3-r12", "revision")
        );
        assert_eq!(
            higher("15.4.0-debian-11-r10", &bitnami),
            want("16.1.0-debian-11-r3", "major")
        );
    }

    #[test]
    fn update_types() {
        let cases = [
            ("1.2.3", "1.2.4", UpdateType::Patch),
            ("1.2.3", "1.3.0", UpdateType::Minor),
            ("1.2", "1.3", UpdateType::Minor),
            ("1.2.3", "2.0.0", UpdateType::Major),
            ("15", "16", UpdateType::Major),
            ("1.2.3-r1", "1.2.3-r2", UpdateType::Revision),
            ("1.2.3-r1", "1.2.4-r1", UpdateType::Patch),
        ];
        for (cur, new, expected) in cases {
            let s = select(cur, &tags(&[new]));
            let got = s.same_major.or(s.higher_major).map(|c| c.update_type);
            assert_eq!(got, Some(expected), "{cur} -> {new}");
        }
        let names = [
            (UpdateType::Major, "major"),
            (UpdateType::Minor, "minor"),
            (UpdateType::Patch, "patch"),
            (UpdateType::Revision, "revision"),
        ];
        for (t, s) in names {
            assert_eq!(t.to_string(), s);
            assert_eq!(serde_json::to_value(t).unwrap(), s);
        }
    }

    #[test]
    fn best_same_major_and_best_higher_major_are_both_reported() {
        let list = [
            "1.2.4", "1.3.0", "1.3.1", "2.0.0", "2.1.0", "3.0.1", "3.0.0", "0.9.9",
        ];
        let s = select("1.2.3", &tags(&list));
        let pick = |c: Option<Candidate>| c.map(|c| (c.tag, c.update_type));
        assert_eq!(
            pick(s.same_major),
            Some(("1.3.1".into(), UpdateType::Minor))
        );
        assert_eq!(
            pick(s.higher_major),
            Some(("3.0.1".into(), UpdateType::Major))
        );
        assert_eq!(select("3.0.1", &tags(&list)), Selection::default());
    }

    #[test]
    fn choice_does_not_depend_on_tag_order() {
        let mut list = tags(&["1.3.0", "01.3.0", "1.2.9", "1.3.0-rc1"]);
        let forward = select("1.2.0", &list);
        list.reverse();
        assert_eq!(select("1.2.0", &list), forward);
        assert_eq!(forward.same_major.unwrap().tag, "01.3.0");
    }

    #[test]
    fn compare_orders_only_tags_of_one_shape() {
        let cases = [
            ("1.26.0", "1.25.3", Some(Ordering::Greater)),
            ("1.25.3", "1.25.3", Some(Ordering::Equal)),
            ("2.8.0-rc1", "2.8.0", Some(Ordering::Less)),
            (
                "15.4.0-debian-11-r10",
                "15.4.0-debian-11-r9",
                Some(Ordering::Greater),
            ),
            ("1.26-alpine", "1.25", None),
            ("15", "20240115", None),
            ("latest", "1.0", None),
        ];
        for (a, b, expected) in cases {
            assert_eq!(compare(a, b), expected, "{a} vs {b}");
        }
    }

    /// An expected (tag, update type), if any.
    type Want<'a> = Option<(&'a str, &'a str)>;

    #[test]
    fn realistic_registries() {
        let nginx = [
            "1.25.3",
            "1.25.3-alpine",
            "1.25.4-alpine",
            "1.25.4",
            "1.25.5-alpine-perl",
            "1.26.0",
            "1.26.0-alpine",
            "1.27.0-perl",
            "1.27.0-alpine-slim",
            "1.27",
            "1.27-alpine",
            "mainline",
            "stable",
            "latest",
            "alpine",
            "stable-alpine",
            "mainline-alpine-perl",
            "2.0.0-rc1",
        ];
        let postgres = [
            "15",
            "15.4",
            "15.5",
            "15.5-alpine",
            "16.1-alpine",
            "16.1",
            "16",
            "17beta1",
            "17rc1",
            "16.1-bookworm",
            "latest",
            "alpine",
        ];
        let bitnami = [
            "15.4.0-debian-11-r10",
            "15.5.0-debian-11-r20",
            "15.5.0-debian-11-r19",
            "16.1.0-debian-11-r3",
            "16.1.0-debian-12-r5",
            "15.5.0",
            "15",
            "latest",
            "sha256-aaaa",
        ];
        let python = [
            "3.12.1",
            "3.12.2",
            "3.13.0b1",
            "3.12-slim",
            "3.13-slim",
            "3.14-rc-slim",
            "3.12.2-slim-bookworm",
            "3",
            "3.13.0",
            "slim",
            "3.12.2-alpine3.19",
            "3.12.1-alpine3.19",
        ];
        let cases: [(&str, &[&str], Want, Want); 15] = [
            ("1.25.3", &nginx, Some(("1.26.0", "minor")), None),
            (
                "1.25.3-alpine",
                &nginx,
                Some(("1.26.0-alpine", "minor")),
                None,
            ),
            ("1.25-alpine", &nginx, Some(("1.27-alpine", "minor")), None),
            (
                "1.25.3-alpine-perl",
                &nginx,
                Some(("1.25.5-alpine-perl", "patch")),
                None,
            ),
            ("mainline", &nginx, None, None),
            ("15", &postgres, None, Some(("16", "major"))),
            (
                "15.4",
                &postgres,
                Some(("15.5", "minor")),
                Some(("16.1", "major")),
            ),
            (
                "15.4-alpine",
                &postgres,
                Some(("15.5-alpine", "minor")),
                Some(("16.1-alpine", "major")),
            ),
            (
                "15.4.0-debian-11-r10",
                &bitnami,
                Some(("15.5.0-debian-11-r20", "minor")),
                Some(("16.1.0-debian-11-r3", "major")),
            ),
            (
                "15.5.0-debian-11-r19",
                &bitnami,
                Some(("15.5.0-debian-11-r20", "revision")),
                Some(("16.1.0-debian-11-r3", "major")),
            ),
            ("3.12.1", &python, Some(("3.13.0", "minor")), None),
            ("3.13.0b1", &python, Some(("3.13.0", "patch")), None),
            ("3.12-slim", &python, Some(("3.13-slim", "minor")), None),
            (
                "3.12.1-alpine3.19",
                &python,
                Some(("3.12.2-alpine3.19", "patch")),
                None,
            ),
            ("3", &python, None, None),
        ];
        for (cur, list, want_same, want_higher) in cases {
            let s = select(cur, &tags(list));
            let got = |c: Option<Candidate>| c.map(|c| (c.tag, c.update_type.to_string()));
            let exp = |w: Want| w.map(|(t, u)| (t.to_string(), u.to_string()));
            assert_eq!(got(s.same_major), exp(want_same), "same major for {cur}");
            assert_eq!(
                got(s.higher_major),
                exp(want_higher),
                "higher major for {cur}"
            );
        }
    }
}
