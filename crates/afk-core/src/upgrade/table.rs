//! The upgrade report's PR table (`afk upgrade`): how it names a pull
//! request (`owner/repo#N`, short enough for a column; the address itself
//! stays in `--json` and on the result lines), its result cell (empty until
//! the flow ends: the verdict column says where a running flow stands) and
//! its test-run count, spelled out.

use crate::upgrade::verdict::Outcome;

/// The table's columns; `TEST RUNS` is `1 of 3`: the test runs this flow has
/// asked for, of `upgrade.max_test_runs`.
pub const COLUMNS: [&str; 7] = [
    "PR",
    "RECIPE",
    "IMAGE",
    "VERDICT",
    "RESULT",
    "BUILD",
    "TEST RUNS",
];

/// The RESULT cell: `-` while the flow runs, else the result and why.
pub fn result_cell(result: Outcome, why: Option<&str>) -> String {
    match (result, why.filter(|w| !w.is_empty())) {
        (Outcome::Pending, _) => "-".into(),
        (r, Some(w)) => format!("{r} — {w}"),
        (r, None) => r.to_string(),
    }
}

/// The TEST RUNS cell: `1 of 3`.
pub fn runs_cell(runs: u32, max: u32) -> String {
    format!("{runs} of {max}")
}

/// The line under the table for one PR: seed 003's `URL: RESULT: FAILED —
/// why` once the flow has ended, `URL: no result yet (test run 1 of 3)` before.
pub fn result_line(url: &str, result: Outcome, why: Option<&str>, runs: u32, max: u32) -> String {
    match (result, why.filter(|w| !w.is_empty())) {
        (Outcome::Pending, _) => format!("{url}: no result yet (test run {runs} of {max})"),
        (r, Some(w)) => format!("{url}: RESULT: {r} — {w}"),
        (r, None) => format!("{url}: RESULT: {r}"),
    }
}

/// `owner/repo#N` from a PR's web address `…/owner/repo/{segment}/N` (the
/// forge profile's `pr_segment`: Gitea's `pulls`, GitHub's `pull`, a
/// merge request's `-/merge_requests`), under any sub-path, with the
/// profile's `sigil` (`#`; a GitLab merge request's `!`: `owner/repo!N`); the
/// address as it is when it has no such shape.
pub fn pr_ref(url: &str, segment: &str, sigil: char) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let parsed = || {
        let (rest, n) = path.trim_end_matches('/').rsplit_once('/')?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || segment.is_empty() {
            return None;
        }
        let rest = rest.strip_suffix(segment)?.strip_suffix('/')?;
        let (rest, repo) = rest.rsplit_once('/')?;
        let owner = rest.rsplit_once('/').map_or(rest, |(_, o)| o);
        let ok = !repo.is_empty() && !owner.is_empty() && !owner.contains(':');
        ok.then(|| format!("{owner}/{repo}{sigil}{n}"))
    };
    parsed().unwrap_or_else(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_is_empty_until_the_flow_ends_and_the_runs_are_spelled_out() {
        let u = "http://h/o/r/pulls/1";
        for (result, why, cell, line) in [
            (
                Outcome::Pending,
                None,
                "-",
                "http://h/o/r/pulls/1: no result yet (test run 1 of 3)",
            ),
            (
                Outcome::Pending,
                Some("x"),
                "-",
                "http://h/o/r/pulls/1: no result yet (test run 1 of 3)",
            ),
            (
                Outcome::Success,
                None,
                "SUCCESS",
                "http://h/o/r/pulls/1: RESULT: SUCCESS",
            ),
            (
                Outcome::Success,
                Some(""),
                "SUCCESS",
                "http://h/o/r/pulls/1: RESULT: SUCCESS",
            ),
            (
                Outcome::Failed,
                Some("upgrade not green after 3 test runs"),
                "FAILED — upgrade not green after 3 test runs",
                "http://h/o/r/pulls/1: RESULT: FAILED — upgrade not green after 3 test runs",
            ),
        ] {
            assert_eq!(result_cell(result, why), cell);
            assert_eq!(result_line(u, result, why, 1, 3), line);
        }
        assert_eq!(runs_cell(1, 3), "1 of 3");
        assert_eq!(COLUMNS[6], "TEST RUNS");
    }

    #[test]
    fn a_table_names_a_pr_owner_repo_hash_number() {
        // the forge's own segment, and only it
        for (url, segment, want) in [
            ("https://github.com/acme/api/pull/42", "pull", "acme/api#42"),
            (
                "https://gl.example/acme/api/-/merge_requests/5",
                "-/merge_requests",
                "acme/api!5",
            ),
            (
                "https://github.com/acme/api/pull/42",
                "pulls",
                "https://github.com/acme/api/pull/42",
            ),
            ("http://h/o/r/pulls/1", "", "http://h/o/r/pulls/1"),
        ] {
            let sigil = if segment.contains("merge_requests") {
                '!'
            } else {
                '#'
            };
            assert_eq!(pr_ref(url, segment, sigil), want, "{url} {segment}");
        }
        for (url, want) in [
            ("http://127.0.0.1:3000/maint/nginx/pulls/1", "maint/nginx#1"),
            (
                "https://git.example/sub/path/acme/api/pulls/7/",
                "acme/api#7",
            ),
            (
                "https://git.example/acme/api/pulls/42#issuecomment-1",
                "acme/api#42",
            ),
            // not a PR's address: shown as it is
            (
                "https://git.example/acme/api/issues/3",
                "https://git.example/acme/api/issues/3",
            ),
            (
                "https://git.example/acme/api/pulls/x",
                "https://git.example/acme/api/pulls/x",
            ),
            ("http://host/pulls/3", "http://host/pulls/3"),
            ("", ""),
        ] {
            assert_eq!(pr_ref(url, "pulls", '#'), want, "{url}");
        }
    }
}
