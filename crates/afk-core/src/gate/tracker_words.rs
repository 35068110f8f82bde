//! What a commit's message would do in the tracker beside the forge
//! (docs/trackers.md#the-change-gate), read before afk forwards it:
//! - Jira's Smart Commits act on `<KEY> … #<command>` in a message (a
//!   comment, a time log, a transition) as the Jira user whose email is the
//!   committer's, which the agent chooses: an issue key with a `#<word>`
//!   after it on the same line is refused, the run's own too;
//! - Linear's forge integration closes an issue a merged commit names after
//!   a closing word: an identifier other than the run's own after one is
//!   refused.
//!
//! Any project's or team's key counts, not only the mapped ones': the
//! site or workspace holds projects and teams afk does not know of, and
//! its integration acts on them all.

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

/// `w` as an issue key (a letter, then letters, digits or `_`, a `-`,
/// digits), upper case; None when it is no key.
fn key_of(w: &str) -> Option<String> {
    let up = w.trim_matches('-').to_ascii_uppercase();
    let (p, n) = up.split_once('-')?;
    let ok = p.starts_with(|c: char| c.is_ascii_alphabetic())
        && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit());
    ok.then_some(up)
}

/// The issue keys that a line of `message` names before a `#<word>` (a
/// Smart Commit's command) on the same line.
pub(crate) fn smart_commands(message: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for line in message.lines() {
        let ws = words(line);
        for (i, w) in ws.iter().enumerate() {
            let Some(key) = key_of(w) else {
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

/// The identifiers other than `own` that `message` names right after a
/// closing word (`Fixes ENG-7`, `closes: ENG-7`).
pub(crate) fn linear_closes(message: &str, own: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for line in message.lines() {
        let ws = words(line);
        for pair in ws.windows(2) {
            let closing = LINEAR_CLOSING
                .iter()
                .any(|c| c.eq_ignore_ascii_case(pair[0]));
            let Some(key) = key_of(pair[1]).filter(|_| closing) else {
                continue;
            };
            if !key.eq_ignore_ascii_case(own) && !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// `text` (an issue's title, the agent's final message) with every
/// word shaped like an issue key (`PLAT-1`, `eng-9`: letters, digits and
/// `_`, a `-`, digits; any project's or team's, the run's own too) written
/// with a non-breaking hyphen (U+2011), which reads the same and which
/// neither Jira's Smart Commits nor Linear's closing words take as a key:
/// afk's PR title and body become a merge commit's message on a forge
/// that makes it of them, and there they would act in the tracker as
/// whoever merged.
pub fn defused(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let start = i == 0 || !word(chars[i - 1]);
        if start && chars[i].is_ascii_alphabetic() {
            let mut j = i;
            while j < chars.len() && word(chars[j]) {
                j += 1;
            }
            let digits = (j + 1..chars.len())
                .take_while(|k| chars[*k].is_ascii_digit())
                .count();
            let ends = chars.get(j + 1 + digits).is_none_or(|c| !word(*c));
            if chars.get(j) == Some(&'-') && digits > 0 && ends {
                out.extend(&chars[i..j]);
                out.push('\u{2011}');
                i = j + 1;
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule "any issue key with a #command after it on its line is a
    /// Smart Commit, refused whatever issue it names, of any project".
    #[test]
    fn a_jira_smart_commit_is_any_key_then_a_command_on_its_line() {
        let cases: [(&str, &[&str]); 11] = [
            ("PLAT-1 #done", &["PLAT-1"]),
            ("fix the parser (plat-12 #comment looks good)", &["PLAT-12"]),
            ("PLAT-1 PLAT-2 #time 1h", &["PLAT-1", "PLAT-2"]),
            ("PLAT-1: the parser\n#done", &[]),
            ("PLAT-1 fixes #12", &[]),
            // a project afk does not map is the site's all the same
            ("OPS-1 #done", &["OPS-1"]),
            ("a_b2-3 #comment", &["A_B2-3"]),
            ("CVE-2024-1234 #note", &[]),
            ("#done PLAT-1", &[]),
            ("PLAT-1 # done", &[]),
            ("", &[]),
        ];
        for (message, want) in cases {
            assert_eq!(smart_commands(message), want, "{message:?}");
        }
    }

    /// The rule "a closing word before a Linear identifier other than the
    /// run's own is refused, of any team".
    #[test]
    fn a_linear_closing_word_before_another_issue_of_any_team_is_refused() {
        let cases: [(&str, &[&str]); 9] = [
            ("Fixes ENG-2", &["ENG-2"]),
            ("fixes eng-1, closes: ENG-3", &["ENG-3"]),
            ("Completed ENG-4\n\nresolves ENG-5", &["ENG-4", "ENG-5"]),
            ("Fixes ENG-1", &[]),
            ("refs ENG-2", &[]),
            // a team afk does not map is the workspace's all the same
            ("Fixes OPS-2", &["OPS-2"]),
            ("Fixes 2-3", &[]),
            ("prefixes ENG-2", &[]),
            ("Fixes #2", &[]),
        ];
        for (message, want) in cases {
            assert_eq!(linear_closes(message, "ENG-1"), want, "{message:?}");
        }
    }

    /// The rule "what an outsider wrote reaches afk's PR title and body
    /// with no issue key a tracker would act on".
    #[test]
    fn an_outsiders_words_reach_the_pr_with_no_key_a_tracker_reads() {
        let nb = '\u{2011}';
        // (text, as the PR carries it)
        let table = [
            (
                "Tidy logging; PLAT-1 #close done; Fixes ENG-9",
                format!("Tidy logging; PLAT{nb}1 #close done; Fixes ENG{nb}9"),
            ),
            ("fixes eng-12.", format!("fixes eng{nb}12.")),
            (
                "https://linear.app/acme/issue/ENG-9/x",
                format!("https://linear.app/acme/issue/ENG{nb}9/x"),
            ),
            ("PLAT_2-10 and OPS-1", format!("PLAT_2{nb}10 and OPS{nb}1")),
            // no key: a number first, no digits, letters after the digits
            ("2-3 days", "2-3 days".into()),
            ("a well-known x-ray", "a well-known x-ray".into()),
            ("sha-256x", "sha-256x".into()),
            ("", String::new()),
        ];
        for (text, want) in table {
            assert_eq!(defused(text), want, "{text}");
        }
    }
}
