//! `upgrade.min_release_age` (docs/configuration.md): a tag is a
//! candidate only when its image config says it was created at least that long
//! ago. What the OCI distribution answers is read here (a manifest, an index's
//! `linux/amd64` entry, a config's `created`); which tag is proposed is
//! [`walk`]: from the best down, past the ones too young, a bounded number of
//! lookups. A config without `created` is treated as old enough, and said.
use crate::types::Invalid;

use crate::upgrade::tags;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What a manifest answer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// an index (manifest list): the digest of its `linux/amd64` manifest
    Index(Option<String>),
    /// an image manifest: its config blob's digest
    Image(Option<String>),
}

/// A digest as the distribution spec writes it (`sha256:<hex>`): it becomes
/// part of a URL path, so nothing else passes.
fn digest(v: &Value) -> Option<String> {
    let d = v.as_str()?;
    let (alg, hex) = d.split_once(':')?;
    let ok = !alg.is_empty()
        && alg.len() <= 32
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
        && (32..=128).contains(&hex.len())
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| d.to_string())
}

/// Reads a manifest answer: an index (OCI or Docker's list) by its
/// `manifests`, an image manifest by its `config`.
pub fn read_manifest(body: &[u8]) -> Result<Manifest, Invalid> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not a manifest: {e}"))?;
    if let Some(list) = v["manifests"].as_array() {
        let amd64 = list.iter().find(|m| {
            m["platform"]["os"] == "linux"
                && m["platform"]["architecture"] == "amd64"
                && m["platform"]["variant"].as_str().is_none_or(str::is_empty)
        });
        return Ok(Manifest::Index(amd64.and_then(|m| digest(&m["digest"]))));
    }
    if v.get("config").is_some() {
        return Ok(Manifest::Image(digest(&v["config"]["digest"])));
    }
    Err(Invalid("neither an index nor an image manifest".into()))
}

/// The `created` of an image config, when it has one.
pub fn created(config: &[u8]) -> Result<Option<String>, Invalid> {
    let v: Value = serde_json::from_slice(config).map_err(|e| format!("not a config: {e}"))?;
    Ok(v["created"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string))
}

/// How old a tag's image is against `min_release_age`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Age {
    OldEnough,
    /// too young: a candidate from `until`
    Young {
        until: OffsetDateTime,
    },
    /// the config says nothing readable: treated as old enough, and said
    Unknown,
}

/// The rule: created at least `min` before `now` is old enough.
pub fn age(created: Option<&str>, now: OffsetDateTime, min: std::time::Duration) -> Age {
    let Some(at) = created.and_then(|c| OffsetDateTime::parse(c, &Rfc3339).ok()) else {
        return Age::Unknown;
    };
    // checked: a registry's `created` is outside text (9999-12-31 plus a
    // day overflows); a date past what can be counted is never old enough
    let until = time::Duration::try_from(min)
        .ok()
        .and_then(|d| at.checked_add(d));
    match until {
        Some(until) if until <= now => Age::OldEnough,
        Some(until) => Age::Young { until },
        None => Age::Young {
            until: time::PrimitiveDateTime::MAX.assume_utc(),
        },
    }
}

/// What the report says of a tag's age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub tag: String,
    /// when it becomes a candidate (RFC 3339), for a tag that waits
    pub until: Option<String>,
    pub why: String,
}

/// Most image configs read per image and tick: a registry full of young
/// tags costs a few requests, never one per tag.
pub(crate) const MAX_LOOKUPS: usize = 4;

/// The tags to choose from once the too-young ones are taken out, and what
/// to say: the tag [`tags::select`] would choose is asked (`created_of`);
/// a young one is dropped and the next best asked, at most [`MAX_LOOKUPS`]
/// times; past that nothing newer is proposed this tick.
pub fn walk(
    current: &str,
    all: &[String],
    allow_major: bool,
    now: OffsetDateTime,
    min: std::time::Duration,
    mut created_of: impl FnMut(&str) -> Result<Option<String>, Invalid>,
) -> Result<(Vec<String>, Vec<Note>), Invalid> {
    let mut kept = all.to_vec();
    let mut notes = vec![];
    for _ in 0..MAX_LOOKUPS {
        let sel = tags::select(current, &kept);
        let chosen = match (sel.same_major, sel.higher_major) {
            (_, Some(h)) if allow_major => h,
            (Some(s), _) => s,
            _ => return Ok((kept, notes)),
        };
        let c = created_of(&chosen.tag)?;
        match age(c.as_deref(), now, min) {
            Age::OldEnough => return Ok((kept, notes)),
            Age::Unknown => {
                notes.push(Note {
                    tag: chosen.tag,
                    until: None,
                    why: "its image config has no created time: treated as old enough".into(),
                });
                return Ok((kept, notes));
            }
            Age::Young { until } => {
                let until = until.format(&Rfc3339).unwrap_or_default();
                notes.push(Note {
                    tag: chosen.tag.clone(),
                    why: format!("younger than min_release_age: waits until {until}"),
                    until: Some(until),
                });
                kept.retain(|t| *t != chosen.tag);
            }
        }
    }
    // every tag asked was young: nothing newer than the current one this tick
    kept.retain(|t| tags::compare(t, current).is_none_or(|o| o.is_le()));
    Ok((kept, notes))
}

#[cfg(test)]
mod extremes {
    use super::*;

    /// No outside date panics the rule: every extreme a registry may send,
    /// against every extreme `min_release_age`; a date in the future is
    /// never old enough.
    #[test]
    fn release_dates_at_the_extremes_never_panic_and_the_future_is_not_old_enough() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let dates = [
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59.999999999Z",
            "0000-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "2030-01-01T00:00:00+23:59",
            "2030-01-01T00:00:00-23:59",
            "not a date",
            "",
        ];
        let mins = [
            std::time::Duration::ZERO,
            std::time::Duration::from_secs(3 * 86400),
            std::time::Duration::from_secs(u64::MAX),
        ];
        for d in dates {
            for m in mins {
                let a = age(Some(d), now, m);
                if d.starts_with("9999") {
                    assert!(matches!(a, Age::Young { .. }), "{d} {m:?}: {a:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const DAY: std::time::Duration = std::time::Duration::from_secs(86400);

    #[test]
    fn a_tag_is_old_enough_from_created_plus_min_release_age_and_no_created_is_said() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let cases = [
            (Some("2026-03-01T00:00:00Z"), Age::OldEnough),
            (Some("2026-03-07T12:00:00Z"), Age::OldEnough),
            (
                Some("2026-03-09T12:00:00.5Z"),
                Age::Young {
                    until: datetime!(2026-03-12 12:00:00.5 UTC),
                },
            ),
            (Some("not a time"), Age::Unknown),
            (None, Age::Unknown),
        ];
        for (c, want) in cases {
            assert_eq!(age(c, now, 3 * DAY), want, "{c:?}");
        }
    }

    #[test]
    fn manifests_indexes_and_configs_are_read_by_the_distribution_spec() {
        let d = format!("sha256:{}", "a".repeat(64));
        let cases = [
            (
                format!(r#"{{"manifests":[{{"digest":"sha256:{}","platform":{{"os":"linux","architecture":"arm64"}}}},{{"digest":"{d}","platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#, "b".repeat(64)),
                Ok(Manifest::Index(Some(d.clone()))),
            ),
            (
                r#"{"manifests":[{"digest":"sha256:x/../y","platform":{"os":"linux","architecture":"amd64"}}]}"#.into(),
                Ok(Manifest::Index(None)),
            ),
            (
                format!(r#"{{"schemaVersion":2,"config":{{"digest":"{d}"}},"layers":[]}}"#),
                Ok(Manifest::Image(Some(d.clone()))),
            ),
            ("{}".into(), Err(())),
            ("[1]".into(), Err(())),
        ];
        for (body, want) in cases {
            assert_eq!(
                read_manifest(body.as_bytes()).map_err(|_| ()),
                want,
                "{body}"
            );
        }
        assert_eq!(
            created(br#"{"created":"2026-01-01T00:00:00Z"}"#).unwrap(),
            Some("2026-01-01T00:00:00Z".into())
        );
        assert_eq!(created(br#"{"architecture":"amd64"}"#).unwrap(), None);
    }

    /// created per tag, allow_major, proposed, the tags noted, lookups made
    type Case<'a> = (
        Vec<(&'a str, Option<&'a str>)>,
        bool,
        Option<&'a str>,
        Vec<&'a str>,
        usize,
    );

    #[test]
    fn the_best_tag_old_enough_is_proposed_walking_down_past_young_ones_within_bounds() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let tags: Vec<String> = ["1.25.3", "1.25.5", "1.26.0", "1.26.1", "2.0.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let young = "2026-03-10T00:00:00Z";
        let old = "2026-01-01T00:00:00Z";
        // (created per tag, allow_major, proposed, notes' tags, lookups)
        let cases: Vec<Case> = vec![
            (
                vec![("1.26.1", Some(old))],
                false,
                Some("1.26.1"),
                vec![],
                1,
            ),
            (
                vec![("1.26.1", Some(young)), ("1.26.0", Some(old))],
                false,
                Some("1.26.0"),
                vec!["1.26.1"],
                2,
            ),
            (
                vec![("1.26.1", None)],
                false,
                Some("1.26.1"),
                vec!["1.26.1"],
                1,
            ),
            (
                vec![("2.0.0", Some(young)), ("1.26.1", Some(old))],
                true,
                Some("1.26.1"),
                vec!["2.0.0"],
                2,
            ),
            (
                vec![
                    ("1.26.1", Some(young)),
                    ("1.26.0", Some(young)),
                    ("1.25.5", Some(young)),
                    ("1.25.3", Some(young)),
                ],
                false,
                None,
                vec!["1.26.1", "1.26.0", "1.25.5"],
                3,
            ),
        ];
        for (i, (created, major, want, noted, lookups)) in cases.into_iter().enumerate() {
            let mut asked = 0;
            let (kept, notes) = walk("1.25.3", &tags, major, now, 3 * DAY, |t| {
                asked += 1;
                Ok(created
                    .iter()
                    .find(|(x, _)| *x == t)
                    .and_then(|(_, c)| c.map(str::to_string)))
            })
            .unwrap();
            let sel = tags::select("1.25.3", &kept);
            let got = if major {
                sel.higher_major.or(sel.same_major)
            } else {
                sel.same_major
            };
            assert_eq!(got.map(|c| c.tag).as_deref(), want, "case {i}");
            let n: Vec<&str> = notes.iter().map(|n| n.tag.as_str()).collect();
            assert_eq!((n, asked), (noted, lookups), "case {i}");
        }
        let e = walk("1.25.3", &tags, false, now, DAY, |_| Err("429".into()));
        assert!(e.is_err());
    }
}
