//! Canary routing
//! (docs/configuration.md#harvest-the-canary-for-prompt-templates): which
//! template version a dispatch uses.
//!
//! Pure: the draw is an argument. With `AFK_CANARY_SEED` the caller takes it
//! from [`seeded_draw`], a stable hash of (seed, repo, issue, ready-label event
//! id), so the same world routes the same way in every tick and `poll
//! --dry-run` predicts the real tick; without it the caller draws from the OS
//! ([`unit`] turns 8 random bytes into a draw).

use crate::types::Invalid;
use crate::types::IssueNumber;
use serde::Serialize;

/// Where one dispatch goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Current,
    Canary,
}

/// u < `sample` → the canary, else the current version. Routing happens only
/// when `harvest.canary` is on and the template has a live canary; otherwise
/// every dispatch uses the current version whatever the draw.
pub fn route(routing_on: bool, has_canary: bool, sample: f64, u: f64) -> Route {
    if routing_on && has_canary && u < sample {
        Route::Canary
    } else {
        Route::Current
    }
}

/// A 64-bit value mapped into [0, 1): its top 53 bits over 2^53.
pub fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The seeded draw in [0, 1): FNV-1a over the seed and the dispatch's identity
/// (fields length-prefixed, so no two tuples share an encoding), finished with
/// the splitmix64 mixer so every output bit depends on every input bit.
/// Stable across versions, platforms and runs: a pure function of its inputs.
/// `repo` is the name as text (a `&RepoName` derefs to it), so the draw a
/// tester recomputes from a report's strings is the tick's.
pub fn seeded_draw(seed: u64, repo: &str, issue: IssueNumber, ready_event_id: i64) -> f64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    eat(&seed.to_le_bytes());
    eat(&(repo.len() as u64).to_le_bytes());
    eat(repo.as_bytes());
    eat(&issue.0.to_le_bytes());
    eat(&ready_event_id.to_le_bytes());
    unit(mix(h))
}

/// The splitmix64 finalizer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `AFK_CANARY_SEED` as a seed: an integer, negative ones taken as their
/// two's-complement bits. None when unset or empty; Err names the bad value.
pub fn parse_seed(v: Option<&str>) -> Result<Option<u64>, Invalid> {
    let Some(s) = v.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    s.parse::<u64>()
        .or_else(|_| s.parse::<i64>().map(|i| i as u64))
        .map(Some)
        .map_err(|_| {
            Invalid(format!(
                "AFK_CANARY_SEED is \"{s}\", which is not an integer"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canary_gets_draws_below_sample_only_when_routing_is_on_and_a_canary_is_live() {
        use Route::*;
        let cases = [
            // (routing on, canary live, sample, u, route)
            ((true, true, 0.2, 0.0), Canary),
            ((true, true, 0.2, 0.1999), Canary),
            ((true, true, 0.2, 0.2), Current),
            ((true, true, 0.2, 0.9), Current),
            ((true, true, 0.0, 0.0), Current),
            ((true, true, 1.0, 0.999_999), Canary),
            ((false, true, 1.0, 0.0), Current),
            ((true, false, 1.0, 0.0), Current),
        ];
        for ((on, live, sample, u), want) in cases {
            assert_eq!(
                route(on, live, sample, u),
                want,
                "on {on}, live {live}, sample {sample}, u {u}"
            );
        }
    }

    #[test]
    fn seeded_draws_are_stable_and_in_range() {
        // pinned values: a change here changes how every seeded world routes
        let a = seeded_draw(42, "acme/api", IssueNumber(7), 1001);
        assert_eq!(a, 0.2691711824942179);
        assert_eq!(seeded_draw(0, "a/b", IssueNumber(1), 1), 0.6160858906946286);
        let cases = [
            (
                "another seed",
                seeded_draw(43, "acme/api", IssueNumber(7), 1001),
            ),
            (
                "another repo",
                seeded_draw(42, "acme/web", IssueNumber(7), 1001),
            ),
            (
                "another issue",
                seeded_draw(42, "acme/api", IssueNumber(8), 1001),
            ),
            (
                "re-armed",
                seeded_draw(42, "acme/api", IssueNumber(7), 1002),
            ),
        ];
        for (name, d) in cases {
            assert_ne!(a, d, "{name}");
            assert!((0.0..1.0).contains(&d), "{name}: {d}");
        }
    }

    #[test]
    fn seeded_draws_are_roughly_uniform() {
        let n = 20_000u64;
        let mut below = [0u32; 10];
        for i in 0..n {
            let u = seeded_draw(7, "acme/api", IssueNumber(i), 5000 + i as i64);
            below[(u * 10.0) as usize] += 1;
        }
        for (bucket, count) in below.iter().enumerate() {
            let share = f64::from(*count) / n as f64;
            assert!(
                (share - 0.1).abs() < 0.01,
                "bucket {bucket} holds {share} of the draws"
            );
        }
    }

    #[test]
    fn unit_maps_the_full_range_into_zero_to_one() {
        let cases = [(0u64, 0.0), (u64::MAX, 1.0 - 1.0 / (1u64 << 53) as f64)];
        for (bits, want) in cases {
            assert_eq!(unit(bits), want, "{bits:#x}");
        }
        assert!(unit(u64::MAX) < 1.0);
    }

    #[test]
    fn the_seed_is_an_integer() {
        let cases = [
            (None, Ok(None)),
            (Some(""), Ok(None)),
            (Some("42"), Ok(Some(42))),
            (Some(" 42 "), Ok(Some(42))),
            (Some("-1"), Ok(Some(u64::MAX))),
            (Some("18446744073709551615"), Ok(Some(u64::MAX))),
            (
                Some("abc"),
                Err("AFK_CANARY_SEED is \"abc\", which is not an integer".into()),
            ),
            (
                Some("1.5"),
                Err("AFK_CANARY_SEED is \"1.5\", which is not an integer".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_seed(input), want, "{input:?}");
        }
    }
}
