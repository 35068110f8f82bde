use super::*;
use serde_json::json;

fn record(v: serde_json::Value) -> String {
    v.to_string()
}

fn index(records: &[serde_json::Value]) -> Index {
    let mut ix = Index::default();
    for r in records {
        ix.add(&record(r.clone())).unwrap();
    }
    ix
}

fn affected(eco: &str, name: &str, ranges: serde_json::Value) -> serde_json::Value {
    json!([{"package": {"ecosystem": eco, "name": name}, "ranges": ranges}])
}

#[test]
fn semver_orders_releases_above_their_pre_releases_and_numbers_below_words() {
    let ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "1.10.0",
        "2.0.0+build.5",
    ];
    for w in ordered.windows(2) {
        let (a, b) = (SemVer::parse(w[0]).unwrap(), SemVer::parse(w[1]).unwrap());
        assert!(a < b, "{} < {}", w[0], w[1]);
    }
    for bad in ["1.0", "1.0.0.0", "a.b.c", "", "1..0", "1.0.0-"] {
        assert_eq!(SemVer::parse(bad), None, "{bad}");
    }
    assert_eq!(SemVer::parse("1.0.0+a"), SemVer::parse("1.0.0+b"));
}

#[test]
fn pep_440_orders_dev_pre_release_post_and_drops_trailing_zeros() {
    let ordered = [
        "1.0.dev1",
        "1.0a1",
        "1.0a2.dev1",
        "1.0a2",
        "1.0b1",
        "1.0rc1",
        "1.0",
        "1.0.post1.dev1",
        "1.0.post1",
        "1.0.1",
        "1.1",
        "2!0.1",
    ];
    for w in ordered.windows(2) {
        let (a, b) = (Pep440::parse(w[0]).unwrap(), Pep440::parse(w[1]).unwrap());
        assert!(a < b, "{} < {}", w[0], w[1]);
    }
    let same = [
        ("1.0", "1.0.0"),
        ("1.0", "v1.0"),
        ("1.0alpha1", "1.0a1"),
        ("1.0-post1", "1.0.post1"),
        ("1.0-1", "1.0.post1"),
        ("1.0c1", "1.0rc1"),
        ("1.0+local.7", "1.0"),
    ];
    for (a, b) in same {
        assert_eq!(Pep440::parse(a), Pep440::parse(b), "{a} = {b}");
    }
    for bad in ["", "one", "1.0xyz", "1.0-"] {
        assert_eq!(Pep440::parse(bad), None, "{bad}");
    }
}

#[test]
fn go_versions_drop_their_v_and_incompatible_before_semver() {
    let k = |v: &str| version_key(Ecosystem::Go, v);
    assert_eq!(k("v1.2.3"), k("1.2.3"));
    assert_eq!(k("v2.0.0+incompatible"), k("2.0.0"));
    assert!(k("v0.14.0") < k("v0.15.0"));
    assert_eq!(k("latest"), None);
}

#[test]
fn a_range_covers_from_introduced_up_to_fixed_or_through_last_affected() {
    let cases: [(&str, serde_json::Value, &str, Option<Option<&str>>); 10] = [
        (
            "npm",
            json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]),
            "1.2.2",
            Some(Some("1.2.3")),
        ),
        (
            "npm",
            json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}]),
            "1.2.3",
            None,
        ),
        (
            "npm",
            json!([{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.2.3"}]}]),
            "0.9.0",
            None,
        ),
        (
            "npm",
            json!([{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.1.0"}]}]),
            "1.1.0",
            Some(None),
        ),
        (
            "npm",
            json!([{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.1.0"}]}]),
            "1.1.1",
            None,
        ),
        // two windows in one range, events out of order
        (
            "crates.io",
            json!([{"type": "ECOSYSTEM", "events": [{"introduced": "2.0.0"}, {"fixed": "1.5.0"}, {"introduced": "1.0.0"}, {"fixed": "2.1.0"}]}]),
            "2.0.5",
            Some(Some("2.1.0")),
        ),
        (
            "crates.io",
            json!([{"type": "ECOSYSTEM", "events": [{"introduced": "2.0.0"}, {"fixed": "1.5.0"}, {"introduced": "1.0.0"}, {"fixed": "2.1.0"}]}]),
            "1.7.0",
            None,
        ),
        // GIT ranges are ignored
        (
            "npm",
            json!([{"type": "GIT", "events": [{"introduced": "0"}]}]),
            "1.0.0",
            None,
        ),
        // PEP 440 order: 2.0rc1 is below 2.0
        (
            "PyPI",
            json!([{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]),
            "2.0rc1",
            Some(Some("2.0")),
        ),
        // an unorderable event version reads as the lowest: the range covers more
        (
            "npm",
            json!([{"type": "SEMVER", "events": [{"introduced": "not-a-version"}]}]),
            "0.0.1",
            Some(None),
        ),
    ];
    for (eco, ranges, version, want) in cases {
        let ix = index(&[json!({"id": "X-1", "affected": affected(eco, "pkg", ranges.clone())})]);
        let e = ecosystem_of(eco).unwrap();
        let got = ix.hits(e, "pkg", version).first().map(|h| h.fixed.clone());
        let want = want.map(|f| f.map(str::to_string));
        assert_eq!(got, want, "{eco} {version} in {ranges}");
    }
}

#[test]
fn a_record_applies_by_its_listed_versions_and_a_pypi_name_normalised() {
    let ix = index(&[
        json!({"id": "PYSEC-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "Zope.Interface"}, "versions": ["6.0", "6.1"]}]}),
    ]);
    assert_eq!(ix.hits(Ecosystem::PyPi, "zope-interface", "6.0.0").len(), 1);
    assert_eq!(ix.hits(Ecosystem::PyPi, "ZOPE_interface", "6.1").len(), 1);
    assert!(ix.hits(Ecosystem::PyPi, "zope-interface", "6.2").is_empty());
    // another ecosystem's package of that name is not this one
    assert!(ix.hits(Ecosystem::Npm, "Zope.Interface", "6.0").is_empty());
}

#[test]
fn malware_refuses_whatever_its_severity_and_high_or_critical_refuse() {
    let all = |v: &str| json!([{"package": {"ecosystem": "npm", "name": "p"}, "versions": [v]}]);
    let ix = index(&[
        json!({"id": "MAL-2024-1", "affected": all("1.0.0"), "database_specific": {"severity": "LOW"}}),
        json!({"id": "GHSA-aaaa", "aliases": ["MAL-2024-9"], "affected": all("1.0.1")}),
        json!({"id": "GHSA-high", "affected": all("1.0.2"), "database_specific": {"severity": "HIGH"}}),
        json!({"id": "GHSA-mod", "affected": all("1.0.3"), "database_specific": {"severity": "MODERATE"}}),
        json!({"id": "GHSA-med", "affected": all("1.0.4"), "database_specific": {"severity": "medium"}}),
        json!({"id": "GHSA-cvss", "affected": all("1.0.5"), "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}),
        json!({"id": "GHSA-none", "affected": all("1.0.6")}),
        json!({"id": "GHSA-v4", "affected": all("1.0.7"), "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]}),
        json!({"id": "GHSA-gone", "affected": all("1.0.8"), "withdrawn": "2024-01-01T00:00:00Z", "database_specific": {"severity": "CRITICAL"}}),
    ]);
    let cases = [
        ("1.0.0", Some(("MAL-2024-1 (malware)", true))),
        ("1.0.1", Some(("GHSA-aaaa (malware)", true))),
        ("1.0.2", Some(("GHSA-high (HIGH)", true))),
        ("1.0.3", Some(("GHSA-mod (MODERATE)", false))),
        ("1.0.4", Some(("GHSA-med (MODERATE)", false))),
        ("1.0.5", Some(("GHSA-cvss (CRITICAL)", true))),
        ("1.0.6", Some(("GHSA-none (severity unknown)", false))),
        (
            "1.0.7",
            Some(("GHSA-v4 (CVSS v4, not scored by afk: read as HIGH)", true)),
        ),
        ("1.0.8", None),
    ];
    for (version, want) in cases {
        let hits = ix.hits(Ecosystem::Npm, "p", version);
        let got = hits.first().map(|h| (h.label(), h.refuses()));
        assert_eq!(got, want.map(|(l, r)| (l.to_string(), r)), "{version}");
    }
}

#[test]
fn cvss_3_base_scores_follow_the_standards_formula_and_roundup() {
    let cases = [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Some(9.8)),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", Some(10.0)),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", Some(6.5)),
        ("CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", Some(3.1)),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", Some(7.8)),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", Some(6.1)),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", Some(0.0)),
        ("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", None),
        ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None),
        ("CVSS:3.1/AV:N/AC:L", None),
    ];
    for (v, want) in cases {
        assert_eq!(cvss3_base(v), want, "{v}");
    }
}

#[test]
fn a_file_that_is_not_a_record_is_refused_with_why() {
    let cases = [
        ("{", "not JSON"),
        ("[]", "no \"id\" string"),
        (r#"{"id": 7, "affected": []}"#, "no \"id\" string"),
        (r#"{"id": "X"}"#, "no \"affected\" list"),
        (
            r#"{"id": "X", "affected": [{"package": {"name": "p"}}]}"#,
            "package.ecosystem",
        ),
        (
            r#"{"id": "X", "affected": [{"package": {"ecosystem": "npm", "name": "p"}, "versions": "1.0.0"}]}"#,
            "\"versions\" is not a list of strings",
        ),
        (
            r#"{"id": "X", "affected": [{"package": {"ecosystem": "Maven", "name": "p"}, "versions": [1]}]}"#,
            "\"versions\" is not a list of strings",
        ),
    ];
    for (text, why) in cases {
        let mut ix = Index::default();
        let e = ix.add(text).unwrap_err();
        assert!(e.0.contains(why), "{text}: {e}");
    }
    // an ecosystem afk does not read, well shaped: read, indexed nowhere
    let mut ix = Index::default();
    ix.add(r#"{"id": "X", "modified": "2026-11-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Maven", "name": "p"}, "versions": ["1"]}]}"#).unwrap();
    assert_eq!(ix.records_read, 1);
    assert!(ix.per_ecosystem.is_empty());
    assert_eq!(ix.newest_modified.as_deref(), Some("2026-11-01T00:00:00Z"));
}

#[test]
fn range_events_afk_cannot_order_are_counted() {
    let ix = index(&[
        json!({"id": "X", "affected": affected("npm", "p", json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "banana"}]}]))}),
    ]);
    assert_eq!(ix.unordered, 1);
    assert_eq!(ix.per_ecosystem.get(&Ecosystem::Npm), Some(&1));
}

#[test]
fn doctor_warns_for_a_folder_older_than_seven_days_or_with_unordered_ranges() {
    use crate::doctor::Level;
    let now = time::macros::datetime!(2026-11-26 12:00 UTC);
    let at =
        |m: &str| json!({"id": "X", "modified": m, "affected": affected("npm", "p", json!([]))});
    let cases = [
        (
            vec![at("2026-11-25T00:00:00Z")],
            Level::Ok,
            "1 records (npm 1); newest modified 2026-11-25T00:00:00Z (1 days ago)",
        ),
        (
            vec![at("2026-11-01T00:00:00Z")],
            Level::Warn,
            "older than 7 days",
        ),
        (
            vec![json!({"id": "X", "affected": affected("npm", "p", json!([]))})],
            Level::Warn,
            "newest modified unknown",
        ),
        (
            vec![
                json!({"id": "X", "modified": "2026-11-26T00:00:00Z", "affected": affected("npm", "p", json!([{"type": "SEMVER", "events": [{"fixed": "x"}]}]))}),
            ],
            Level::Warn,
            "1 range events name a version afk cannot order",
        ),
    ];
    for (records, level, words) in cases {
        let ix = index(&records);
        let (l, text) = doctor_line(&ix, "/srv/osv", now);
        assert_eq!(l, level, "{text}");
        assert!(
            text.starts_with("/srv/osv: ") && text.contains(words),
            "{text}"
        );
    }
}
