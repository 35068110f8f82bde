//! What a commit's message would do in the tracker beside the forge
//! (docs/trackers.md#the-change-gate), read before afk forwards it:
//! - Jira's Smart Commits act on `<KEY> … #<command>` in a message (a
//!   comment, a time log, a transition) as the Jira user whose email is the
//!   committer's, which the agent chooses: a key of a mapped project with a
//!   `#<word>` after it on the same line is refused, the run's own too;
//! - Linear's forge integration closes an issue a merged commit names after
//!   a closing word: an identifier of a mapped team other than the run's
//!   own after one is refused.

/// The closing words before an identifier (Linear's "magic words"; the
/// list is the design's, not verified against Linear's pages: see
/// docs/fidelity/linear.md), compared without case.
pub(crate) const LINEAR_CLOSING: [&str; 16] = [
    "close",
    "closes",
    "closed",
    "closing",
    "fix",
    "fixes",
    "fixed",
    "fixing",
    "resolve",
    "resolves",
    "resolved",
    "resolving",
    "complete",
    "completes",
    "completed",
    "completing",
];

/// The words of a line: runs of letters, digits, `_`, `-` and `#`.
fn words(line: &str) -> Vec<&str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '#')))
        .filter(|w| !w.is_empty())
        .collect()
}

/// `w` as an issue key of one of `prefixes` (compared without case), upper
/// case; None when it is no such key.
fn key_of(w: &str, prefixes: &[String]) -> Option<String> {
    let up = w.trim_matches('-').to_ascii_uppercase();
    let (p, n) = up.split_once('-')?;
    let ok = prefixes.iter().any(|x| x.eq_ignore_ascii_case(p))
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit());
    ok.then_some(up)
}

/// The keys of `projects` that a line of `message` names before a
/// `#<word>` (a Smart Commit's command) on the same line.
pub(crate) fn smart_commands(message: &str, projects: &[String]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for line in message.lines() {
        let ws = words(line);
        for (i, w) in ws.iter().enumerate() {
            let Some(key) = key_of(w, projects) else {
                continue;
            };
            let command = ws[i + 1..].iter().any(|x| {
                x.strip_prefix('#')
                    .is_some_and(|c| c.starts_with(|c: char| c.is_ascii_alphabetic()))
            });
            if command && !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// The identifiers of `teams` other than `own` that `message` names right
/// after a closing word (`Fixes ENG-7`, `closes: ENG-7`).
pub(crate) fn linear_closes(message: &str, teams: &[String], own: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for line in message.lines() {
        let ws = words(line);
        for pair in ws.windows(2) {
            let closing = LINEAR_CLOSING
                .iter()
                .any(|c| c.eq_ignore_ascii_case(pair[0]));
            let Some(key) = key_of(pair[1], teams).filter(|_| closing) else {
                continue;
            };
            if !key.eq_ignore_ascii_case(own) && !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule "a mapped Jira key with a #command after it on its line is
    /// a Smart Commit, refused whatever issue it names".
    #[test]
    fn a_jira_smart_commit_is_a_mapped_key_then_a_command_on_its_line() {
        let projects = vec!["PLAT".to_string()];
        let cases: [(&str, &[&str]); 9] = [
            ("PLAT-1 #done", &["PLAT-1"]),
            ("fix the parser (plat-12 #comment looks good)", &["PLAT-12"]),
            ("PLAT-1 PLAT-2 #time 1h", &["PLAT-1", "PLAT-2"]),
            ("PLAT-1: the parser\n#done", &[]),
            ("PLAT-1 fixes #12", &[]),
            ("OPS-1 #done", &[]),
            ("#done PLAT-1", &[]),
            ("PLAT-1 # done", &[]),
            ("", &[]),
        ];
        for (message, want) in cases {
            assert_eq!(smart_commands(message, &projects), want, "{message:?}");
        }
    }

    /// The rule "a closing word before a mapped Linear identifier other
    /// than the run's own is refused".
    #[test]
    fn a_linear_closing_word_before_another_issue_of_a_mapped_team_is_refused() {
        let teams = vec!["ENG".to_string()];
        let cases: [(&str, &[&str]); 8] = [
            ("Fixes ENG-2", &["ENG-2"]),
            ("fixes eng-1, closes: ENG-3", &["ENG-3"]),
            ("Completed ENG-4\n\nresolves ENG-5", &["ENG-4", "ENG-5"]),
            ("Fixes ENG-1", &[]),
            ("refs ENG-2", &[]),
            ("Fixes OPS-2", &[]),
            ("prefixes ENG-2", &[]),
            ("Fixes #2", &[]),
        ];
        for (message, want) in cases {
            assert_eq!(linear_closes(message, &teams, "ENG-1"), want, "{message:?}");
        }
    }
}
