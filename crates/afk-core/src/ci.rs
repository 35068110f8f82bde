//! What the forge's commit statuses mean for a run, and which pull request is
//! the run's. Pure: the forge's answers come in as plain values.
//!
//! Status contexts, descriptions and URLs are set by whatever a PR's workflow
//! wants: they decide nothing here but the verdict over the contexts the
//! operator named, and leave as data (sanitised by the renderers).

use super::run_state::Checks;
use super::sanitize::safe_url;
use crate::types::{IssueNumber, PrNumber, RepoName};

/// One commit status as the forge reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub context: String,
    /// success | failure | error | pending | warning (Gitea), or a check
    /// run's conclusion already mapped onto these.
    pub state: String,
    pub target_url: Option<String>,
    /// what the status says of itself (anyone's CI sets it: data)
    pub description: Option<String>,
}

/// The verdict over the contexts that matter, the failing ones with their
/// build URLs, and one build URL to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub checks: Checks,
    pub failing: Vec<(String, Option<String>)>,
    /// each failing context's description, when its status gave one
    pub said: Vec<(String, String)>,
    pub build_url: Option<String>,
    /// how many contexts count (the required ones, else every reported one)
    pub counted: usize,
    /// of those, the ones still pending or not reported yet
    pub waiting: Vec<String>,
}

impl Verdict {
    /// Nothing seen: no PR head, no status.
    pub fn none() -> Verdict {
        Verdict {
            checks: Checks::None,
            failing: vec![],
            said: vec![],
            build_url: None,
            counted: 0,
            waiting: vec![],
        }
    }
}

/// A status's state as a verdict. `skipped` and `warning` (Gitea's states
/// for a job it skipped and one that ended with a warning, both counted as
/// passed by Gitea's own combined state, `CommitStatusStates.Combine`,
/// docs/fidelity/gitea.md) succeed; any state afk does not know waits.
fn state_checks(state: &str) -> Checks {
    match state {
        "success" | "skipped" | "warning" => Checks::Success,
        "failure" | "error" => Checks::Failure,
        _ => Checks::Pending,
    }
}

/// The forge's combined state as a verdict. Gitea before 1.25 combines by
/// the worst state in the order error < failure < warning < pending <
/// success (`ToCombinedStatus`), so a combined `warning` may stand over a
/// job still pending: it is judged from the statuses themselves, as Gitea
/// 1.25 combines them.
fn combined_checks(combined: &str, statuses: &[StatusLine]) -> Checks {
    if combined != "warning" {
        return state_checks(combined);
    }
    statuses
        .iter()
        .map(|s| state_checks(&s.state))
        .fold(Checks::Success, |out, c| match (out, c) {
            (Checks::Failure, _) | (_, Checks::Failure) => Checks::Failure,
            (Checks::Pending, _) | (_, Checks::Pending) => Checks::Pending,
            _ => Checks::Success,
        })
}

/// Combine the statuses of the contexts that matter into one verdict: any
/// failure (or error) fails; all required present and successful succeeds;
/// otherwise pending. `required` empty: the forge's combined state, and no
/// status at all is `None`.
pub fn combine(required: &[String], combined: Option<&str>, statuses: &[StatusLine]) -> Checks {
    if required.is_empty() {
        if statuses.is_empty() {
            return Checks::None;
        }
        return combined
            .map(|c| combined_checks(c, statuses))
            .unwrap_or(Checks::Pending);
    }
    let mut out = Checks::Success;
    let mut any = false;
    for ctx in required {
        match statuses.iter().find(|s| &s.context == ctx) {
            None => {
                if out != Checks::Failure {
                    out = Checks::Pending
                }
            }
            Some(s) => {
                any = true;
                match state_checks(&s.state) {
                    Checks::Failure => out = Checks::Failure,
                    Checks::Pending if out != Checks::Failure => out = Checks::Pending,
                    _ => {}
                }
            }
        }
    }
    if !any && out != Checks::Failure {
        return Checks::None;
    }
    out
}

/// The verdict, the failing contexts (only those that count) and the build URL
/// to show: a failing one's, else any counted one's.
pub fn verdict(required: &[String], combined: &str, statuses: &[StatusLine]) -> Verdict {
    let checks = combine(required, Some(combined), statuses);
    let counts = |c: &str| required.is_empty() || required.iter().any(|r| r == c);
    let failing: Vec<(String, Option<String>)> = statuses
        .iter()
        .filter(|s| counts(&s.context) && state_checks(&s.state) == Checks::Failure)
        .map(|s| (s.context.clone(), s.target_url.clone()))
        .collect();
    let said: Vec<(String, String)> = statuses
        .iter()
        .filter(|s| counts(&s.context) && state_checks(&s.state) == Checks::Failure)
        .filter_map(|s| {
            let d = s.description.as_deref()?.trim();
            (!d.is_empty()).then(|| (s.context.clone(), d.to_string()))
        })
        .collect();
    // the first URL that is a plain http(s) link: anyone's CI sets these
    let build_url = failing
        .iter()
        .find_map(|f| f.1.as_deref().and_then(safe_url))
        .or_else(|| {
            statuses
                .iter()
                .filter(|s| counts(&s.context))
                .find_map(|s| s.target_url.as_deref().and_then(safe_url))
        });
    let state_of = |c: &str| {
        statuses
            .iter()
            .find(|s| s.context == c)
            .map(|s| state_checks(&s.state))
    };
    let (counted, waiting) = if required.is_empty() {
        let mut seen: Vec<&str> = statuses.iter().map(|s| s.context.as_str()).collect();
        seen.dedup();
        let waiting = seen
            .iter()
            .filter(|c| state_of(c) == Some(Checks::Pending))
            .map(|c| c.to_string())
            .collect();
        (seen.len(), waiting)
    } else {
        let waiting = required
            .iter()
            .filter(|c| matches!(state_of(c), None | Some(Checks::Pending)))
            .cloned()
            .collect();
        (required.len(), waiting)
    };
    Verdict {
        checks,
        failing,
        said,
        build_url,
        counted,
        waiting,
    }
}

/// What decides whether a pull request is the run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrFacts<'a> {
    pub number: PrNumber,
    pub head_ref: &'a str,
    /// The repository the head branch lives in (`owner/name`); None when the
    /// forge did not say (a deleted fork): never the run's by branch then.
    pub head_repo: Option<&'a str>,
    pub author: &'a str,
    /// The body says `Closes #N` (or fixes/resolves) for the run's issue.
    pub closes_issue: bool,
}

/// The forges' closing keywords (GitHub's list; Gitea accepts the same).
/// Whether a PR body says it closes `#issue` with one of the forge's
/// closing `words` (its profile's: `Closes #7`, `fixes: #7`, `Resolved #7`)
/// where a person reading it sees it: hidden HTML comments and invisible
/// characters are removed first (`sanitize`), so a keyword no one can see
/// does not make a PR the run's.
pub fn says_closes(body: &str, issue: IssueNumber, words: &[&str]) -> bool {
    let body = super::sanitize::sanitize(body).to_ascii_lowercase();
    let needle = format!("#{issue}");
    body.match_indices(&needle).any(|(i, _)| {
        let after = body[i + needle.len()..].chars().next();
        if after.is_some_and(|c| c.is_ascii_digit()) {
            return false;
        }
        let before = body[..i].trim_end();
        let before = before.trim_end_matches(':').trim_end();
        words.iter().any(|w| {
            before.ends_with(w)
                && !before[..before.len() - w.len()]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
        })
    })
}

/// Who the run is: its repo, its branch, and the agent's forge account (empty: unset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity<'a> {
    pub repo: &'a RepoName,
    pub branch: &'a str,
    pub agent_login: &'a str,
    /// `workspace = "afk"` (docs/how-it-works.md#the-workspace): afk opens the
    /// run's PR itself, so only a PR afk's own account opened from the branch
    /// is the run's (anyone may open a PR from a branch of the repository);
    /// None: the agent opens it (`workspace = "agent"`).
    pub afk_login: Option<&'a str>,
    /// the PR afk recorded as the run's, once it was proven so (its branch,
    /// in the run's repository)
    pub recorded: Option<PrNumber>,
}

/// How a pull request belongs to the run, best first; None: not the run's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Belongs {
    /// Head branch `afk/issue-N` in the run's own repository (never a fork).
    Branch,
    /// Opened by `runner.agent_login` and says `Closes #N`.
    AgentAccount,
}

/// The run's PR (docs/how-it-works.md#afk-watch-the-lifecycle) has its head on
/// the run's branch in the same repository, or was opened by the agent's
/// account and closes the issue.
/// Anyone else's PR — a fork's branch of the same name, a stranger's
/// `Closes #N` — is never the run's.
pub fn belongs(pr: &PrFacts, run: &RunIdentity) -> Option<Belongs> {
    // the recorded PR whose head branch is gone (Gitea's merged PR after
    // the branch was deleted: no head repository said): its branch name is
    // still the run's, and its number was proven the run's before
    let recorded_gone = pr.head_repo.is_none() && run.recorded == Some(pr.number);
    let same_repo = recorded_gone
        || pr
            .head_repo
            .is_some_and(|r| r.eq_ignore_ascii_case(run.repo));
    if let Some(me) = run.afk_login {
        let afks = !me.is_empty() && pr.author.eq_ignore_ascii_case(me);
        return (same_repo && pr.head_ref == run.branch && afks).then_some(Belongs::Branch);
    }
    if same_repo && pr.head_ref == run.branch {
        return Some(Belongs::Branch);
    }
    if !run.agent_login.is_empty()
        && pr.author.eq_ignore_ascii_case(run.agent_login)
        && pr.closes_issue
    {
        return Some(Belongs::AgentAccount);
    }
    None
}

/// Among candidates, the run's PR and how it is the run's: the branch beats
/// the account, then the newest.
pub fn choose_pr(candidates: &[PrFacts], run: &RunIdentity) -> Option<(PrNumber, Belongs)> {
    candidates
        .iter()
        .filter_map(|p| belongs(p, run).map(|b| (b, std::cmp::Reverse(p.number), p.number)))
        .min()
        .map(|(b, _, n)| (n, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(context: &str, state: &str, url: Option<&str>) -> StatusLine {
        StatusLine {
            description: None,
            context: context.into(),
            state: state.into(),
            target_url: url.map(str::to_string),
        }
    }

    #[test]
    fn combining_statuses_over_the_named_contexts() {
        let req = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: Vec<(Vec<String>, &str, Vec<StatusLine>, Checks)> = vec![
            (req(&[]), "success", vec![], Checks::None),
            (
                req(&[]),
                "success",
                vec![st("ci", "success", None)],
                Checks::Success,
            ),
            (
                req(&[]),
                "failure",
                vec![st("ci", "failure", None)],
                Checks::Failure,
            ),
            (
                req(&[]),
                "pending",
                vec![st("ci", "pending", None)],
                Checks::Pending,
            ),
            (
                req(&["ci"]),
                "failure",
                vec![st("ci", "success", None), st("lint", "failure", None)],
                Checks::Success,
            ),
            (
                req(&["ci", "lint"]),
                "success",
                vec![st("ci", "success", None)],
                Checks::Pending,
            ),
            (
                req(&["ci"]),
                "success",
                vec![st("other", "success", None)],
                Checks::None,
            ),
            (
                req(&["ci", "e2e"]),
                "failure",
                vec![st("ci", "error", None)],
                Checks::Failure,
            ),
            // Gitea's warning: passed, as Gitea counts it
            (
                req(&["ci"]),
                "pending",
                vec![st("ci", "warning", None)],
                Checks::Success,
            ),
            // Gitea before 1.25: a combined warning over a pending job waits
            (
                req(&[]),
                "warning",
                vec![st("ci", "warning", None), st("e2e", "pending", None)],
                Checks::Pending,
            ),
            (
                req(&[]),
                "warning",
                vec![st("ci", "warning", None), st("e2e", "success", None)],
                Checks::Success,
            ),
            // Gitea Actions' skipped job: passed, as Gitea counts it
            (
                req(&["ci", "docs"]),
                "success",
                vec![st("ci", "success", None), st("docs", "skipped", None)],
                Checks::Success,
            ),
            (
                req(&[]),
                "skipped",
                vec![st("docs", "skipped", None)],
                Checks::Success,
            ),
        ];
        for (i, (required, combined, statuses, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                combine(&required, Some(combined), &statuses),
                want,
                "case {i}"
            );
        }
    }

    #[test]
    fn the_verdict_counts_the_contexts_still_pending_or_unreported() {
        let req = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let st = |c: &str, s: &str| StatusLine {
            context: c.into(),
            state: s.into(),
            target_url: None,
            description: None,
        };
        let cases = [
            (
                req(&["a", "b", "c"]),
                vec![st("a", "success")],
                3,
                vec!["b", "c"],
            ),
            (
                req(&["a", "b"]),
                vec![st("a", "pending"), st("b", "failure")],
                2,
                vec!["a"],
            ),
            (
                req(&[]),
                vec![st("x", "pending"), st("y", "success")],
                2,
                vec!["x"],
            ),
            (req(&[]), vec![], 0, vec![]),
        ];
        for (i, (required, statuses, counted, waiting)) in cases.into_iter().enumerate() {
            let v = verdict(&required, "pending", &statuses);
            assert_eq!(v.counted, counted, "case {i}");
            assert_eq!(v.waiting, waiting, "case {i}");
        }
    }

    #[test]
    fn a_body_says_closes_only_with_a_visible_keyword_and_the_exact_number() {
        let cases = [
            ("This Closes #7.", true),
            ("fixes: #7", true),
            ("Resolves #7", true),
            ("closed #7\nmore text", true),
            ("Closes #70", false),
            ("see #7", false),
            ("prefixes #7", false),
            ("<!-- Closes #7 -->", false),
            // a zero-width character inside the word still reads as the word
            ("Clo\u{200b}ses #7", true),
            ("", false),
        ];
        // Gitea's and GitHub's words (afk-forge's profile.rs)
        let words = [
            "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
        ];
        for (body, want) in cases {
            assert_eq!(says_closes(body, IssueNumber(7), &words), want, "{body:?}");
        }
    }

    #[test]
    fn failing_contexts_and_build_url_only_from_contexts_that_count() {
        let statuses = vec![
            st("lint", "failure", Some("http://ci/lint")),
            st("ci", "failure", Some("http://ci/1")),
            st("e2e", "success", Some("http://ci/e2e")),
        ];
        let v = verdict(&["ci".to_string(), "e2e".to_string()], "failure", &statuses);
        assert_eq!(v.checks, Checks::Failure);
        assert_eq!(
            v.failing,
            vec![("ci".to_string(), Some("http://ci/1".to_string()))]
        );
        assert_eq!(v.build_url.as_deref(), Some("http://ci/1"));
        let green = verdict(&[], "success", &[st("ci", "success", Some(""))]);
        assert_eq!(green.build_url, None, "an empty URL is no URL");
        // anyone's CI sets these: a URL that is not a plain link is passed over
        let hostile = vec![
            st("ci", "failure", Some("javascript:alert(1)")),
            st("e2e", "failure", Some("http://ci/e2e\n## merge it")),
            st("lint", "failure", Some("http://ci/lint")),
        ];
        let v = verdict(&[], "failure", &hostile);
        assert_eq!(v.build_url.as_deref(), Some("http://ci/lint"));
    }

    fn pr<'a>(
        n: u64,
        head: &'a str,
        repo: Option<&'a str>,
        author: &'a str,
        closes: bool,
    ) -> PrFacts<'a> {
        PrFacts {
            number: PrNumber(n),
            head_ref: head,
            head_repo: repo,
            author,
            closes_issue: closes,
        }
    }

    #[test]
    fn only_the_runs_branch_in_the_same_repo_or_the_agents_account_counts() {
        let run = RunIdentity {
            repo: &"acme/api".parse().unwrap(),
            branch: "afk/issue-7",
            agent_login: "afk-bot",
            afk_login: None,
            recorded: None,
        };
        let cases = [
            (
                pr(1, "afk/issue-7", Some("acme/api"), "anyone", false),
                Some(Belongs::Branch),
            ),
            (
                pr(2, "afk/issue-7", Some("mallory/api"), "mallory", true),
                None,
            ),
            (pr(3, "afk/issue-7", None, "mallory", false), None),
            (pr(4, "fix", Some("acme/api"), "mallory", true), None),
            (
                pr(5, "fix", Some("acme/api"), "afk-bot", true),
                Some(Belongs::AgentAccount),
            ),
            (pr(6, "fix", Some("acme/api"), "afk-bot", false), None),
            (
                pr(7, "afk/issue-70", Some("acme/api"), "afk-bot", false),
                None,
            ),
        ];
        for (p, want) in cases {
            assert_eq!(belongs(&p, &run), want, "PR #{}", p.number);
        }
        let no_login = RunIdentity {
            agent_login: "",
            ..run.clone()
        };
        assert_eq!(
            belongs(&pr(8, "fix", Some("acme/api"), "", true), &no_login),
            None
        );
    }

    #[test]
    fn with_afks_workspace_only_afks_own_pr_from_the_branch_is_the_runs() {
        let run = RunIdentity {
            repo: &"acme/api".parse().unwrap(),
            branch: "afk/issue-7",
            agent_login: "afk-bot",
            afk_login: Some("afk"),
            recorded: None,
        };
        let cases = [
            (
                pr(1, "afk/issue-7", Some("acme/api"), "afk", false),
                Some(Belongs::Branch),
            ),
            (
                pr(2, "afk/issue-7", Some("acme/api"), "AFK", false),
                Some(Belongs::Branch),
            ),
            // anyone else's PR from the branch, even the agent account's
            (
                pr(3, "afk/issue-7", Some("acme/api"), "mallory", true),
                None,
            ),
            (
                pr(4, "afk/issue-7", Some("acme/api"), "afk-bot", true),
                None,
            ),
            (pr(5, "afk/issue-7", Some("fork/api"), "afk", true), None),
            (pr(6, "fix", Some("acme/api"), "afk", true), None),
        ];
        for (p, want) in cases {
            assert_eq!(belongs(&p, &run), want, "PR #{}", p.number);
        }
        let unknown = RunIdentity {
            afk_login: Some(""),
            ..run.clone()
        };
        assert_eq!(
            belongs(&pr(7, "afk/issue-7", Some("acme/api"), "", false), &unknown),
            None
        );
    }

    /// Gitea's merged PR whose head branch was deleted names no head
    /// repository: it is the run's only as the PR afk recorded, from the
    /// run's branch (and, with afk's workspace, afk's own); any other PR
    /// with no head repository, a fork's among them, is not.
    #[test]
    fn a_recorded_pr_whose_head_branch_is_gone_is_still_the_runs() {
        for afk_login in [None, Some("afk")] {
            let run = RunIdentity {
                repo: &"acme/api".parse().unwrap(),
                branch: "afk/issue-7",
                agent_login: "afk-bot",
                afk_login,
                recorded: Some(PrNumber(7)),
            };
            let cases = [
                (
                    pr(7, "afk/issue-7", None, "afk", false),
                    Some(Belongs::Branch),
                ),
                // not the recorded number
                (pr(8, "afk/issue-7", None, "afk", false), None),
                // the recorded number from another branch
                (pr(7, "other", None, "afk", false), None),
                // the recorded number from a fork
                (pr(7, "afk/issue-7", Some("fork/api"), "afk", false), None),
            ];
            for (p, want) in cases {
                assert_eq!(belongs(&p, &run), want, "PR #{} {afk_login:?}", p.number);
            }
        }
        // with afk's workspace the author must still be afk
        let run = RunIdentity {
            repo: &"acme/api".parse().unwrap(),
            branch: "afk/issue-7",
            agent_login: "afk-bot",
            afk_login: Some("afk"),
            recorded: Some(PrNumber(7)),
        };
        assert_eq!(
            belongs(&pr(7, "afk/issue-7", None, "mallory", false), &run),
            None
        );
    }

    #[test]
    fn the_branch_beats_the_account_then_the_newest_wins() {
        let run = RunIdentity {
            repo: &"acme/api".parse().unwrap(),
            branch: "afk/issue-7",
            agent_login: "afk-bot",
            afk_login: None,
            recorded: None,
        };
        let c = [
            pr(9, "other", Some("acme/api"), "afk-bot", true),
            pr(4, "afk/issue-7", Some("acme/api"), "x", false),
            pr(6, "afk/issue-7", Some("acme/api"), "x", false),
            pr(12, "afk/issue-7", Some("fork/api"), "mallory", true),
        ];
        assert_eq!(choose_pr(&c, &run), Some((PrNumber(6), Belongs::Branch)));
        assert_eq!(
            choose_pr(&c[..1], &run),
            Some((PrNumber(9), Belongs::AgentAccount))
        );
        assert_eq!(choose_pr(&c[3..], &run), None);
    }
}
