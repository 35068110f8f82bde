//! Outcomes (docs/how-it-works.md#afk-harvest-and-the-template-canary): which
//! ended runs count as what, when a merged success is still watched for a
//! revert, and which commits say they revert it (what proves it is `core::undo`
//! and the trust rule). Pure: the run states, the stored merge times, the
//! commit list and `now` come in.

use super::canary::Outcome;
use super::run_state::RunStatus;
use crate::types::{Commit, RepoName};
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;

/// The outcome of an ended run: a success (watch's `succeed`), a failure (any
/// escalation), none for abandoned and failed runs and for runs not yet final.
pub fn of_run(state: RunStatus) -> Option<Outcome> {
    match state {
        RunStatus::Succeeded => Some(Outcome::Success),
        RunStatus::Escalated => Some(Outcome::Failure),
        _ => None,
    }
}

/// The merge time stored with a success: the forge's `merged_at` when it is
/// plausible (not before the run was dispatched, not after now), else `now`,
/// the moment watch saw the merge. A forge dates to the whole second, so a
/// merge in the dispatch's own second is not before it.
pub fn merge_time(
    forge_merged_at: Option<OffsetDateTime>,
    dispatched_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let second = |d: OffsetDateTime| d.replace_nanosecond(0).unwrap_or(d);
    match forge_merged_at {
        Some(t) if t <= now && dispatched_at.is_none_or(|d| t >= second(d)) => t,
        _ => now,
    }
}

/// A success still watched for a revert: inside `revert_window` after its
/// merge (a zero window is off).
pub(crate) fn in_revert_window(
    merged_at: OffsetDateTime,
    window: Duration,
    now: OffsetDateTime,
) -> bool {
    !window.is_zero() && now <= merged_at + window
}

/// A success with its merge, as stored on the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged<'a> {
    pub run_id: crate::types::RunId,
    pub repo: &'a RepoName,
    pub branch: &'a str,
    pub merge_sha: &'a str,
    pub merged_at: OffsetDateTime,
}

/// One commit listing a tick makes: the base branch of a repo, newest first,
/// down to the oldest merge still watched there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<'a> {
    pub repo: &'a RepoName,
    pub branch: &'a str,
    pub since: OffsetDateTime,
    /// the successes whose reverts this listing looks for
    pub runs: Vec<&'a Merged<'a>>,
}

/// The listings of a tick: one per repo and base branch, only where a success
/// is still inside the window.
pub fn listings<'a>(
    merged: &'a [Merged<'a>],
    window: Duration,
    now: OffsetDateTime,
) -> Vec<Listing<'a>> {
    let mut by: BTreeMap<(&str, &str), Listing> = BTreeMap::new();
    for m in merged
        .iter()
        .filter(|m| in_revert_window(m.merged_at, window, now))
    {
        let l = by.entry((m.repo.as_str(), m.branch)).or_insert(Listing {
            repo: m.repo,
            branch: m.branch,
            since: m.merged_at,
            runs: vec![],
        });
        l.since = l.since.min(m.merged_at);
        l.runs.push(m);
    }
    by.into_values().collect()
}

/// Whether a commit message reverts `merge_sha`: it says `This reverts commit
/// <sha>` with the full sha (what `git revert` and the forges' revert buttons
/// write), in any letter case.
pub fn reverts(message: &str, merge_sha: &str) -> bool {
    let sha = merge_sha.trim().to_ascii_lowercase();
    if sha.len() < 40 {
        return false;
    }
    let msg = message.to_ascii_lowercase();
    let needle = format!("this reverts commit {sha}");
    msg.match_indices(&needle).any(|(i, _)| {
        // the whole sha, not the prefix of a longer one
        !msg[i + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_hexdigit())
    })
}

/// The commits whose message says they revert `merge_sha`, from a listing
/// newest first, oldest first: the first of them that proves it (its changes
/// undo the merge's, `core::undo`, or its author is trusted) is the revert;
/// the message alone is not proof
/// (docs/security.md#only-afks-own-writing-counts).
pub fn candidates<'c>(merge_sha: &str, newest_first: &'c [Commit]) -> Vec<&'c Commit> {
    newest_first
        .iter()
        .rev()
        .filter(|c| reverts(&c.message, merge_sha))
        .collect()
}

/// Why ended runs got no outcome: they were served by the built-in preamble,
/// which no template version stands for. `versions`: template versions that
/// exist now. None when every ended run had a version.
pub fn builtin_note(builtin_runs: usize, outcomes: usize, versions: usize) -> Option<String> {
    if builtin_runs == 0 {
        return None;
    }
    Some(if versions == 0 {
        format!("{outcomes} outcomes: no template versions yet — afk template add")
    } else {
        format!(
            "{} on the built-in preamble (dispatched before a template version existed): no outcome for them",
            super::plural(builtin_runs, "ended run", "ended runs")
        )
    })
}

/// The branch a merge landed on, for harvest's revert watch: the PR's base,
/// or `main` when the forge named none.
pub fn merge_base(base: &str) -> &str {
    if base.is_empty() { "main" } else { base }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn only_success_and_escalation_are_outcomes() {
        let cases = [
            (RunStatus::Succeeded, Some(Outcome::Success)),
            (RunStatus::Escalated, Some(Outcome::Failure)),
            (RunStatus::Abandoned, None),
            (RunStatus::Failed, None),
            (RunStatus::Succeeding, None),
            (RunStatus::Escalating, None),
            (RunStatus::Dispatched, None),
        ];
        for (state, want) in cases {
            assert_eq!(of_run(state), want, "{state}");
        }
    }

    #[test]
    fn the_forge_merge_time_is_kept_only_when_plausible() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let disp = datetime!(2026-03-10 09:00 UTC);
        let cases = [
            (
                "the forge's time",
                Some(datetime!(2026-03-10 11:00 UTC)),
                Some(disp),
                datetime!(2026-03-10 11:00 UTC),
            ),
            ("none: now", None, Some(disp), now),
            (
                "before the dispatch: now",
                Some(datetime!(2026-01-01 10:00 UTC)),
                Some(disp),
                now,
            ),
            (
                "in the dispatch's own second: the forge's time",
                Some(datetime!(2026-03-10 09:00 UTC)),
                Some(datetime!(2026-03-10 09:00:00.600 UTC)),
                datetime!(2026-03-10 09:00 UTC),
            ),
            (
                "a second before the dispatch's: now",
                Some(datetime!(2026-03-10 08:59:59 UTC)),
                Some(datetime!(2026-03-10 09:00:00.600 UTC)),
                now,
            ),
            (
                "in the future: now",
                Some(datetime!(2026-03-11 10:00 UTC)),
                Some(disp),
                now,
            ),
            (
                "no dispatch time",
                Some(datetime!(2026-01-01 10:00 UTC)),
                None,
                datetime!(2026-01-01 10:00 UTC),
            ),
        ];
        for (name, forge, d, want) in cases {
            assert_eq!(merge_time(forge, d, now), want, "{name}");
        }
    }

    #[test]
    fn a_success_is_watched_only_inside_the_window() {
        let merged = datetime!(2026-03-01 12:00 UTC);
        let week = Duration::from_secs(7 * 86400);
        let cases = [
            ("just merged", week, datetime!(2026-03-01 12:00 UTC), true),
            (
                "at the window's end",
                week,
                datetime!(2026-03-08 12:00 UTC),
                true,
            ),
            (
                "a second later",
                week,
                datetime!(2026-03-08 12:00:01 UTC),
                false,
            ),
            ("a zero window is off", Duration::ZERO, merged, false),
        ];
        for (name, window, now, want) in cases {
            assert_eq!(in_revert_window(merged, window, now), want, "{name}");
        }
    }

    #[test]
    fn one_listing_per_repo_and_branch_down_to_its_oldest_watched_merge() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let (api, web) = (RepoName::parse("acme/api"), RepoName::parse("acme/web"));
        let (api, web) = (&api.unwrap(), &web.unwrap());
        let m = |run_id, repo, branch, merged_at| Merged {
            run_id: crate::types::RunId(run_id),
            repo,
            branch,
            merge_sha: SHA,
            merged_at,
        };
        let merged = [
            m(1, api, "main", datetime!(2026-03-09 12:00 UTC)),
            m(2, api, "main", datetime!(2026-03-05 12:00 UTC)),
            m(3, api, "main", datetime!(2026-02-01 12:00 UTC)), // out of the window
            m(4, web, "main", datetime!(2026-02-01 12:00 UTC)), // repo has none inside
            m(5, api, "release", datetime!(2026-03-10 11:00 UTC)),
        ];
        let got: Vec<(&str, &str, OffsetDateTime, Vec<i64>)> =
            listings(&merged, Duration::from_secs(7 * 86400), now)
                .into_iter()
                .map(|l| {
                    (
                        l.repo.as_str(),
                        l.branch,
                        l.since,
                        l.runs.iter().map(|r| r.run_id.0).collect(),
                    )
                })
                .collect();
        assert_eq!(
            got,
            vec![
                (
                    "acme/api",
                    "main",
                    datetime!(2026-03-05 12:00 UTC),
                    vec![1, 2]
                ),
                (
                    "acme/api",
                    "release",
                    datetime!(2026-03-10 11:00 UTC),
                    vec![5]
                ),
            ]
        );
        assert!(listings(&merged, Duration::ZERO, now).is_empty());
    }

    #[test]
    fn a_revert_names_the_whole_merge_sha() {
        let cases = [
            (
                format!("Revert \"Merge pull request #3\"\n\nThis reverts commit {SHA}.\n"),
                true,
            ),
            (format!("this reverts commit {}", SHA.to_uppercase()), true),
            (format!("This reverts commit {SHA}"), true),
            (format!("This reverts commit {}.", &SHA[..12]), false),
            (format!("This reverts commit {SHA}0"), false),
            (format!("Mentions {SHA} but reverts nothing"), false),
            ("This reverts commit".to_string(), false),
        ];
        for (message, want) in cases {
            assert_eq!(reverts(&message, SHA), want, "{message:?}");
        }
        assert!(
            !reverts("This reverts commit 0123", "0123"),
            "a short sha matches nothing"
        );
    }

    #[test]
    fn the_commits_naming_the_merge_are_candidates_oldest_first() {
        let c = |sha: &str, msg: String| Commit {
            sha: sha.to_string(),
            message: msg,
            date: None,
            author: None,
        };
        let newest_first = [
            c("c3", format!("Revert again\n\nThis reverts commit {SHA}.")),
            c("c2", "unrelated".into()),
            c("c1", format!("Revert\n\nThis reverts commit {SHA}.")),
            c("c0", "older".into()),
        ];
        let cases = [
            (SHA, vec!["c1", "c3"]),
            ("ffffffffffffffffffffffffffffffffffffffff", vec![]),
        ];
        for (sha, want) in cases {
            let got: Vec<&str> = candidates(sha, &newest_first)
                .iter()
                .map(|c| c.sha.as_str())
                .collect();
            assert_eq!(got, want, "{sha}");
        }
    }

    #[test]
    fn runs_on_the_built_in_preamble_are_said_to_have_no_outcome() {
        assert_eq!(builtin_note(0, 3, 0), None);
        assert_eq!(
            builtin_note(2, 0, 0).as_deref(),
            Some("0 outcomes: no template versions yet — afk template add")
        );
        assert_eq!(
            builtin_note(1, 4, 2).as_deref(),
            Some(
                "1 ended run on the built-in preamble (dispatched before a template version existed): no outcome for them"
            )
        );
    }

    #[test]
    fn a_merge_without_a_named_base_is_taken_to_be_on_main() {
        assert_eq!(merge_base(""), "main");
        assert_eq!(merge_base("develop"), "develop");
    }
}
