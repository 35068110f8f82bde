//! The answer on the PR after a review turn (docs/reviews.md#the-answer):
//! one comment, found again by its marker, naming the commit the turn's work
//! ended on and each review, line comment or command it answered, linked
//! where the forge has an anchor for it. Pure: watch decides when (the
//! turn's work is on the PR) and posts it once.

use crate::azure::talk::pr_comment_parts;
use crate::sanitize::{MD_TEXT_MAX, md_code, md_text, one_line};
use crate::types::{ForgeKind, TalkKind};

/// How many answered asks the comment names one by one; past it, how many
/// more (the comment stays far under every forge's limit).
pub(crate) const NAMED_MAX: usize = 30;

/// One ask the turn answered, as the trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered<'a> {
    pub kind: TalkKind,
    /// the review's, line comment's or comment's id on the forge
    pub id: i64,
    /// its author (outside text: one line, bounded)
    pub author: &'a str,
    /// what it said, in afk's words (`TalkSaid::words`)
    pub what: &'a str,
    /// a review's own line comments the turn answered: (id, path, line)
    pub lines: Vec<(i64, String, Option<u64>)>,
}

/// How many of one ask's line comments the answer names.
pub(crate) const LINES_NAMED: usize = 10;

/// Azure DevOps: where thread `thread` of the PR at `pr_url` is seen
/// (`?discussionId=`; a comment is addressed by its thread there). None:
/// no thread (a vote's id is negative).
fn thread_link(pr_url: &str, thread: i64) -> Option<String> {
    if thread <= 0 {
        return None;
    }
    let pr_url = pr_url.trim_end_matches('/');
    let sep = if pr_url.contains('?') { '&' } else { '?' };
    Some(format!("{pr_url}{sep}discussionId={thread}"))
}

/// Where line comment `id` is seen on the PR at `pr_url`.
fn line_link(kind: ForgeKind, pr_url: &str, id: i64) -> Option<String> {
    let pr_url = crate::sanitize::safe_url(pr_url)?;
    let anchor = match kind {
        ForgeKind::Github => format!("#discussion_r{id}"),
        ForgeKind::Gitlab => format!("#note_{id}"),
        ForgeKind::Gitea | ForgeKind::Forgejo => format!("/files#issuecomment-{id}"),
        // a line comment's id names its thread (`pr_comment_id`)
        ForgeKind::AzureDevops => return thread_link(&pr_url, pr_comment_parts(id).0),
    };
    Some(format!("{}{anchor}", pr_url.trim_end_matches('/')))
}

/// The marker that finds the answer of `run`'s turn `turn` again:
/// `<!-- afk:answered turn=k -->` (docs/reviews.md#the-answer), then the
/// run's on the same line (two runs of one issue may answer on one PR;
/// one line, so a forge that rewrites line ends cannot hide it).
pub fn marker(run: i64, turn: u32) -> String {
    format!("<!-- afk:answered turn={turn} --><!-- afk:run={run} -->")
}

/// Where `a` is seen on the PR at `pr_url`, where the forge has an anchor
/// for it: GitHub's reviews and review comments, GitLab's notes, Gitea's
/// line comments, Azure DevOps' threads; None for a command, which may be
/// on the issue.
pub fn link(kind: ForgeKind, pr_url: &str, a: &Answered) -> Option<String> {
    let pr_url = crate::sanitize::safe_url(pr_url)?;
    let anchor = match (kind, a.kind) {
        (_, TalkKind::Comment) => return None,
        (ForgeKind::Github, TalkKind::Review) => format!("#pullrequestreview-{}", a.id),
        (ForgeKind::Github, TalkKind::Reply) => format!("#discussion_r{}", a.id),
        (ForgeKind::Gitlab, _) => format!("#note_{}", a.id),
        (ForgeKind::Gitea | ForgeKind::Forgejo, TalkKind::Reply) => {
            format!("/files#issuecomment-{}", a.id)
        }
        (ForgeKind::Gitea | ForgeKind::Forgejo, TalkKind::Review) => return None,
        // a review is a thread (its id) or a vote (none); a reply is a
        // comment whose id names its thread
        (ForgeKind::AzureDevops, TalkKind::Review) => return thread_link(&pr_url, a.id),
        (ForgeKind::AzureDevops, TalkKind::Reply) => {
            return thread_link(&pr_url, pr_comment_parts(a.id).0);
        }
    };
    Some(format!("{}{anchor}", pr_url.trim_end_matches('/')))
}

/// An ask as the people on its forge know it: a review, reply or comment by
/// its id; on Azure DevOps a thread by its id, a reply by its thread and its
/// comment, and a vote (its id afk's own, negative) as a vote, no number.
fn ask_name(kind: ForgeKind, a: &Answered) -> String {
    item_name(kind, a.kind, a.id)
}

/// A review, reply or comment afk looked at, named as the people on its
/// forge know it (the answer's words, `afk runs show`'s): by its id; on
/// Azure DevOps a vote (its id afk's own, negative) as a vote, no number.
pub fn item_name(kind: ForgeKind, talk: TalkKind, id: i64) -> String {
    match (kind, talk) {
        (ForgeKind::AzureDevops, TalkKind::Review) if id < 0 => "vote".into(),
        (ForgeKind::AzureDevops, TalkKind::Review) => format!("thread {id}"),
        // a PR thread's comment names its thread; a work item's comment
        // (a command there) is its own number
        (ForgeKind::AzureDevops, TalkKind::Reply | TalkKind::Comment) => {
            let what = match talk {
                TalkKind::Reply => "reply",
                _ => "comment",
            };
            match pr_comment_parts(id) {
                (thread, comment) if thread > 0 => {
                    format!("{what} {comment} in thread {thread}")
                }
                _ => format!("{what} {}", id),
            }
        }
        (_, TalkKind::Review) => format!("review {}", id),
        (_, TalkKind::Reply) => format!("reply in a thread {}", id),
        (_, TalkKind::Comment) => format!("comment {}", id),
    }
}

/// Where a line comment is, as the answer names it: `path:line` as one code
/// span, every character of the path as the forge gave it (a code span
/// shows `_`, `*` and `[` as typed; its fences are longer than any run of
/// backticks in it), the path cut so the line number always fits.
pub(crate) fn at_line(path: &str, line: Option<u64>) -> String {
    // ":" and the 20 digits of the largest line number
    let path = one_line(path, MD_TEXT_MAX - 21);
    md_code(&format!(
        "{path}{}",
        line.map(|l| format!(":{l}")).unwrap_or_default()
    ))
}

/// The answer's text: the marker, the commit the work ended on (or that the
/// turn pushed nothing: the head is the one it started from), and each ask
/// answered, at most [`NAMED_MAX`] named.
pub fn text(
    (run, turn): (i64, u32),
    (head_now, head_at_start): (&str, Option<&str>),
    kind: ForgeKind,
    pr_url: &str,
    answered: &[Answered],
) -> String {
    let short = |s: &str| s.chars().take(12).collect::<String>();
    let mut s = marker(run, turn);
    s.push('\n');
    let pushed = head_at_start.is_none_or(|h| h != head_now);
    if pushed {
        s.push_str(&format!(
            "afk's turn {turn} answered what was asked below; its work is on this pull request at commit `{}`.\n\n",
            short(head_now)
        ));
    } else {
        s.push_str(&format!(
            "afk's turn {turn} on what was asked below pushed nothing: the head is still `{}`. A person may look at the run's log (`afk runs show {run}`).\n\n",
            short(head_now)
        ));
    }
    for a in answered.iter().take(NAMED_MAX) {
        // the author's name is markdown text: escaped, never a character
        // dropped (`a_b` shows as typed, not as `ab`)
        let who = md_text(&one_line(a.author, 100));
        let named = format!("{} by {who} ({})", ask_name(kind, a), one_line(a.what, 60));
        match link(kind, pr_url, a) {
            Some(url) => s.push_str(&format!("- [{named}]({url})\n")),
            None => s.push_str(&format!("- {named}\n")),
        }
        // each line comment it answered, where it is on the PR
        // (a code span binds before a link's brackets: a `]` in a path
        // cannot end the link)
        for (id, path, line) in a.lines.iter().take(LINES_NAMED) {
            let at = at_line(path, *line);
            match line_link(kind, pr_url, *id) {
                Some(url) => s.push_str(&format!("  - [{at}]({url})\n")),
                None => s.push_str(&format!("  - {at}\n")),
            }
        }
        if a.lines.len() > LINES_NAMED {
            s.push_str(&format!("  - and {} more\n", a.lines.len() - LINES_NAMED));
        }
    }
    if answered.len() > NAMED_MAX {
        s.push_str(&format!("- and {} more\n", answered.len() - NAMED_MAX));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(kind: TalkKind, id: i64, author: &'static str) -> Answered<'static> {
        Answered {
            kind,
            id,
            author,
            what: "changes requested",
            lines: vec![],
        }
    }

    #[test]
    fn the_answer_names_the_commit_and_links_each_ask_where_the_forge_has_an_anchor() {
        let pr = "https://forge.example/acme/api/pulls/2";
        let cases = [
            (
                ForgeKind::Github,
                TalkKind::Review,
                Some(format!("{pr}#pullrequestreview-7")),
            ),
            (
                ForgeKind::Github,
                TalkKind::Reply,
                Some(format!("{pr}#discussion_r7")),
            ),
            (
                ForgeKind::Gitlab,
                TalkKind::Review,
                Some(format!("{pr}#note_7")),
            ),
            (
                ForgeKind::Gitlab,
                TalkKind::Reply,
                Some(format!("{pr}#note_7")),
            ),
            (
                ForgeKind::Gitea,
                TalkKind::Reply,
                Some(format!("{pr}/files#issuecomment-7")),
            ),
            (ForgeKind::Forgejo, TalkKind::Review, None),
            (ForgeKind::Github, TalkKind::Comment, None),
        ];
        for (forge, kind, want) in cases {
            assert_eq!(
                link(forge, pr, &a(kind, 7, "alice")),
                want,
                "{forge:?} {kind:?}"
            );
        }
        assert_eq!(
            link(
                ForgeKind::Github,
                "javascript:alert(1)",
                &a(TalkKind::Review, 7, "a")
            ),
            None
        );
    }

    /// On Azure DevOps a review is a thread or a vote, and a comment is
    /// addressed by its thread: each ask and line comment links its thread
    /// (`?discussionId=`); a vote and a command link nothing.
    #[test]
    fn azure_devops_links_each_ask_and_line_comment_by_its_thread() {
        use crate::azure::talk::pr_comment_id;
        let pr = "https://dev.azure.com/fabrikam/Fabrikam/_git/web%20app/pullrequest/12";
        let thread = format!("{pr}?discussionId=44");
        // (kind, id, link)
        let cases = [
            (TalkKind::Review, 44, Some(thread.clone())),
            // a vote's id is negative: no thread
            (TalkKind::Review, -0x1234, None),
            (TalkKind::Reply, pr_comment_id(44, 3), Some(thread.clone())),
            (TalkKind::Comment, pr_comment_id(44, 1), None),
        ];
        for (kind, id, want) in cases {
            assert_eq!(
                link(ForgeKind::AzureDevops, pr, &a(kind, id, "alice")),
                want,
                "{kind:?} {id}"
            );
        }
        assert_eq!(
            line_link(ForgeKind::AzureDevops, pr, pr_comment_id(45, 2)),
            Some(format!("{pr}?discussionId=45"))
        );
        assert_eq!(
            line_link(
                ForgeKind::AzureDevops,
                &format!("{pr}?_a=files"),
                pr_comment_id(45, 2)
            ),
            Some(format!("{pr}?_a=files&discussionId=45"))
        );
        assert_eq!(line_link(ForgeKind::AzureDevops, pr, 2), None);
        // in the answer: the review and its line comment, each by its thread
        let mut r = a(TalkKind::Review, 44, "alice");
        r.lines = vec![(pr_comment_id(44, 2), "src/lib.rs".into(), Some(3))];
        let t = text((3, 2), ("abcd", None), ForgeKind::AzureDevops, pr, &[r]);
        assert!(
            t.contains(&format!(
                "- [thread 44 by alice (changes requested)]({thread})\n"
            )),
            "{t}"
        );
        assert!(
            t.contains(&format!("  - [`src/lib.rs:3`]({thread})\n")),
            "{t}"
        );
    }

    /// The answer names each ask as the forge's people know it: on Azure
    /// DevOps a thread by its number, a reply by its thread, a vote as a
    /// vote (its number is afk's, never shown).
    #[test]
    fn an_ask_is_named_in_its_forges_words_and_a_vote_by_no_number() {
        use crate::azure::talk::pr_comment_id;
        // (forge, kind, id, name)
        let cases = [
            (ForgeKind::Github, TalkKind::Review, 7, "review 7"),
            (ForgeKind::Github, TalkKind::Reply, 7, "reply in a thread 7"),
            (ForgeKind::Gitlab, TalkKind::Comment, 7, "comment 7"),
            (ForgeKind::AzureDevops, TalkKind::Review, 44, "thread 44"),
            (
                ForgeKind::AzureDevops,
                TalkKind::Review,
                -4_135_870_423,
                "vote",
            ),
            (
                ForgeKind::AzureDevops,
                TalkKind::Reply,
                pr_comment_id(44, 3),
                "reply 3 in thread 44",
            ),
            (
                ForgeKind::AzureDevops,
                TalkKind::Comment,
                pr_comment_id(45, 1),
                "comment 1 in thread 45",
            ),
            // a command on the work item: its own number
            (ForgeKind::AzureDevops, TalkKind::Comment, 9, "comment 9"),
        ];
        for (forge, kind, id, want) in cases {
            assert_eq!(
                ask_name(forge, &a(kind, id, "alice")),
                want,
                "{forge:?} {kind:?} {id}"
            );
        }
        let t = text(
            (3, 2),
            ("abcd", None),
            ForgeKind::AzureDevops,
            "https://dev.azure.com/f/p/_git/r/pullrequest/1",
            &[a(TalkKind::Review, -77, "alice")],
        );
        assert!(t.contains("\n- vote by alice (changes requested)\n"), "{t}");
        assert!(!t.contains("-77"), "{t}");
    }

    #[test]
    fn a_turn_that_pushed_nothing_says_so_and_the_list_is_bounded() {
        let pr = "https://forge.example/acme/api/pull/2";
        let one = [a(TalkKind::Review, 7, "alice")];
        let pushed = text(
            (3, 2),
            ("abcdef0123456789", Some("0000")),
            ForgeKind::Github,
            pr,
            &one,
        );
        assert!(
            pushed.starts_with("<!-- afk:answered turn=2 --><!-- afk:run=3 -->\n"),
            "{pushed}"
        );
        assert!(pushed.contains("at commit `abcdef012345`"), "{pushed}");
        assert!(pushed.contains("[review 7 by alice (changes requested)](https://forge.example/acme/api/pull/2#pullrequestreview-7)"), "{pushed}");
        let none = text((3, 2), ("abcd", Some("abcd")), ForgeKind::Github, pr, &one);
        assert!(none.contains("pushed nothing"), "{none}");
        let many: Vec<Answered> = (0..40).map(|i| a(TalkKind::Comment, i, "x")).collect();
        let t = text((3, 2), ("abcd", None), ForgeKind::Gitea, pr, &many);
        assert_eq!(
            t.lines().filter(|l| l.starts_with("- comment")).count(),
            NAMED_MAX
        );
        assert!(t.ends_with("- and 10 more\n"), "{t}");
        // an author's name cannot make markdown or a link
        let evil = [a(TalkKind::Comment, 1, "m](https://evil)[x")];
        let t = text((3, 2), ("abcd", None), ForgeKind::Gitea, pr, &evil);
        assert!(!t.contains("](https://evil)"), "{t}");
    }

    /// Issue 82: the answer named `moreitertools/extra.py:2` for
    /// `more_itertools/extra.py`: a path is shown as the forge gave it,
    /// verbatim in its code span, and text outside one is escaped for
    /// markdown, never with a character dropped.
    #[test]
    fn a_path_keeps_every_character_verbatim_in_its_code_span_and_escaped_outside_one() {
        let pr = "https://forge.example/acme/api/pulls/2";
        // (path, line, in its code span, as markdown text outside one)
        let cases = [
            (
                "more_itertools/extra.py",
                Some(2),
                "`more_itertools/extra.py:2`",
                "more\\_itertools/extra.py",
            ),
            (
                "tests/test_extra.py",
                None,
                "`tests/test_extra.py`",
                "tests/test\\_extra.py",
            ),
            (
                "src/__init__.py",
                Some(7),
                "`src/__init__.py:7`",
                "src/\\_\\_init\\_\\_.py",
            ),
            ("a*b/[c].py", Some(1), "`a*b/[c].py:1`", "a\\*b/\\[c\\].py"),
            ("a`b.py", None, "``a`b.py``", "a\\`b.py"),
        ];
        for forge in [ForgeKind::Gitea, ForgeKind::Github] {
            for (path, line, code, escaped) in cases {
                assert_eq!(at_line(path, line), code, "{path}");
                // the path inside a code span (the line comment) and
                // outside one (here as an author's name: markdown text)
                let mut r = a(TalkKind::Review, 7, path);
                r.lines = vec![(9, path.to_string(), line)];
                let t = text((3, 2), ("abcd", None), forge, pr, &[r]);
                let link = line_link(forge, pr, 9).unwrap();
                assert!(
                    t.contains(&format!("  - [{code}]({link})\n")),
                    "{forge:?}: {t}"
                );
                assert!(t.contains(&format!(" by {escaped} (")), "{forge:?}: {t}");
                // never with its underscores (or any character) dropped
                let dropped = path.replace(['_', '*', '`', '[', ']'], "");
                assert!(!t.contains(&dropped), "{forge:?}: {dropped}: {t}");
            }
        }
        // a path too long for one code span is cut, its line number kept
        let long = format!("{}/x_y.py", "d".repeat(400));
        let at = at_line(&long, Some(12));
        assert!(at.ends_with("…:12`"), "{at}");
        assert!(at.chars().count() <= MD_TEXT_MAX + 2, "{at}");
    }

    #[test]
    fn the_answer_names_each_line_comment_it_answered_where_it_is() {
        let pr = "https://forge.example/acme/api/pull/2";
        let mut r = a(TalkKind::Review, 7, "alice");
        r.lines = vec![
            (9, "src/lib.rs".into(), Some(3)),
            (10, "a`](https://evil)".into(), None),
        ];
        r.lines
            .extend((11..30).map(|i| (i, "x.rs".to_string(), Some(1))));
        // (forge, the first line's link)
        let cases = [
            (ForgeKind::Github, format!("{pr}#discussion_r9")),
            (ForgeKind::Gitlab, format!("{pr}#note_9")),
            (ForgeKind::Gitea, format!("{pr}/files#issuecomment-9")),
        ];
        for (kind, link) in cases {
            let t = text((3, 2), ("abcd", None), kind, pr, std::slice::from_ref(&r));
            assert!(t.contains(&format!("  - [`src/lib.rs:3`]({link})")), "{t}");
            // the hostile path is shown as typed, inside a code span its
            // backtick cannot close (a code span binds before the link's
            // brackets, so its `](` is text, not a link)
            assert!(t.contains("  - [``a`](https://evil)``]("), "{t}");
            assert_eq!(
                t.lines().filter(|l| l.starts_with("  - [`")).count(),
                LINES_NAMED,
                "{t}"
            );
            assert!(t.contains("  - and 11 more"), "{t}");
        }
    }
}
