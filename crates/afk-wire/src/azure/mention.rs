//! What Azure DevOps makes of text: outside a fenced block `#<digits>`
//! links a work item, `!<digits>` a pull request and `@<name>` notifies a
//! person; a commit message saying `Fixes #123` moves work item 123 when
//! the commit is merged, as the pusher (afk).

/// `text` (someone else's words afk writes outside a fence) with a space
/// after each sigil that would act: `# 12`, `! 7`, `@ name`. Lines inside a
/// fenced block (``` or ~~~) are left as they are; applying it twice changes
/// nothing more.
pub fn no_mentions(text: &str) -> String {
    no_mentions_but(text, &Own::default())
}

/// afk's own references in a text it writes on a run's work item or PR: the
/// run's work item (`#N`) and its pull request (`!M`), which stay linked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Own {
    pub item: Option<u64>,
    pub pr: Option<u64>,
}

/// [`no_mentions`] over a whole text afk wrote for a run, whose own `#N` and
/// `!M` (`own`: the whole number, not a prefix of a longer one) stay as they
/// are; every other `#<digits>`, `!<digits>` and `@<name>` outside a fence
/// gets its space.
pub fn no_mentions_but(text: &str, own: &Own) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fence: Option<&str> = None;
    for line in text.split_inclusive('\n') {
        let lead = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| lead.starts_with(*m));
        match (fence, marker) {
            (None, Some(m)) => {
                fence = Some(m);
                out.push_str(line);
                continue;
            }
            (Some(f), Some(m)) if f == m => {
                fence = None;
                out.push_str(line);
                continue;
            }
            (Some(_), _) => {
                out.push_str(line);
                continue;
            }
            (None, None) => {}
        }
        let chars: Vec<char> = line.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            out.push(*c);
            let next = chars.get(i + 1).copied();
            let number = || -> Option<u64> {
                let digits: String = chars[i + 1..]
                    .iter()
                    .take_while(|d| d.is_ascii_digit())
                    .collect();
                digits.parse().ok()
            };
            let own_one = |o: Option<u64>| o.is_some() && number() == o;
            let acts = match c {
                '#' => next.is_some_and(|n| n.is_ascii_digit()) && !own_one(own.item),
                '!' => next.is_some_and(|n| n.is_ascii_digit()) && !own_one(own.pr),
                // at a word's start only: the `@` inside an e-mail address
                // (`alice@example.com`, escaped or not) names nobody
                '@' => {
                    next.is_some_and(|n| n.is_alphanumeric() || n == '_' || n == '"')
                        && !in_word(&chars[..i])
                }
                _ => false,
            };
            if acts {
                out.push(' ');
            }
        }
    }
    out
}

/// Whether the text before a sigil ends inside a word (a letter, a digit,
/// `.`, `_`, `-` or `+`, one markdown escape `\` between them ignored): an
/// e-mail address's `@` then, never a mention.
fn in_word(before: &[char]) -> bool {
    let before = match before.last() {
        Some('\\') => &before[..before.len() - 1],
        _ => before,
    };
    before
        .last()
        .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

/// The work items a commit `message` resolves: `#<digits>` right after one
/// of `keywords` (case-insensitive, then spaces or a colon), in order, once each.
pub fn resolved_items(message: &str, keywords: &[&str]) -> Vec<u64> {
    let lower = message.to_lowercase();
    let mut out = vec![];
    for (at, _) in lower.match_indices('#') {
        let digits: String = lower[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(n) = digits.parse::<u64>() else {
            continue;
        };
        let before = lower[..at].trim_end_matches([' ', '\t', ':']);
        let word = before
            .rsplit(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or("");
        if keywords.iter().any(|k| k.eq_ignore_ascii_case(word)) && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sigil_that_would_act_gets_a_space_outside_fences() {
        let cases = [
            ("Fix #12 @alice", "Fix # 12 @ alice"),
            ("see !7 and #x", "see ! 7 and #x"),
            // an e-mail address's `@` (escaped by md_text or not) names nobody
            ("mail a@b", "mail a@b"),
            ("by alice\\@sandbox.invalid", "by alice\\@sandbox.invalid"),
            ("cc \\@bob and (@carol)", "cc \\@ bob and (@ carol)"),
            ("# 12 already", "# 12 already"),
            ("```\n#12 @bob\n```\n#3", "```\n#12 @bob\n```\n# 3"),
            ("C# and F#", "C# and F#"),
        ];
        for (text, want) in cases {
            assert_eq!(no_mentions(text), want, "{text:?}");
            assert_eq!(no_mentions(&no_mentions(text)), want, "twice: {text:?}");
        }
    }

    #[test]
    fn only_the_runs_own_work_item_and_pr_stay_linked() {
        let own = Own {
            item: Some(12),
            pr: Some(7),
        };
        let cases = [
            ("Closes #12, PR !7", "Closes #12, PR !7"),
            ("#123 and !70 and #1", "# 123 and ! 70 and # 1"),
            ("@alice on #12: !8", "@ alice on #12: ! 8"),
            ("```\n#5 !9 @bob\n```\n!9", "```\n#5 !9 @bob\n```\n! 9"),
            ("#99999999999999999999999", "# 99999999999999999999999"),
        ];
        for (text, want) in cases {
            let once = no_mentions_but(text, &own);
            assert_eq!(once, want, "{text:?}");
            assert_eq!(no_mentions_but(&once, &own), want, "twice: {text:?}");
        }
        let none = Own::default();
        assert_eq!(no_mentions_but("#12 !7", &none), "# 12 ! 7");
        assert_eq!(
            no_mentions("#99999999999999999999999"),
            "# 99999999999999999999999"
        );
    }

    #[test]
    fn a_commit_resolves_the_work_items_its_keywords_name() {
        let words = [
            "fix", "fixes", "fixed", "close", "closes", "closed", "resolve", "resolves", "resolved",
        ];
        let cases = [
            ("Fixes #99", vec![99]),
            ("fix: #5 and closes #6, fixes #5", vec![5, 6]),
            ("Refs #7", vec![]),
            ("prefixes #8", vec![]),
            ("Resolved #10 #11", vec![10]),
        ];
        for (msg, want) in cases {
            assert_eq!(resolved_items(msg, &words), want, "{msg:?}");
        }
    }
}
