//! Words that act in a tracker when written as they are: an `@`-name, a
//! Jira wiki mention (`[~accountid:…]`), a Linear address (Linear turns a
//! profile or issue URL into a mention or a reference). afk's own words
//! carry none of these, so a line of afk's Markdown outside a fence that
//! does carries outside text (an agent's reason or question, a title),
//! which a forge shows escaped; a tracker gets that line inside a fence of
//! its own, its escapes undone, where nothing in it acts
//! (docs/trackers.md#outside-text-in-afks-comments).

/// Whether `line` holds words that act in a tracker.
pub fn is_loud(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    line.contains('@') || lower.contains("linear.app") || lower.contains("[~")
}

/// `md` with each run of loud lines outside a fence written inside a fence
/// of its own (longer than any backtick run in them), their Markdown
/// escapes undone; fenced blocks and every other line as they were.
pub fn fenced(md: &str) -> String {
    let mut out: Vec<String> = vec![];
    let mut loud: Vec<String> = vec![];
    let mut fence: Option<(char, usize)> = None;
    for line in md.split('\n') {
        let t = line.trim_start();
        let mark = t.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = mark.map_or(0, |m| t.chars().take_while(|c| *c == m).count());
        match fence {
            Some((m, n)) => {
                if mark == Some(m) && run >= n && t[run..].trim().is_empty() {
                    fence = None;
                }
                out.push(line.to_string());
            }
            None if run >= 3 => {
                flush(&mut loud, &mut out);
                fence = mark.map(|m| (m, run));
                out.push(line.to_string());
            }
            None if is_loud(line) => loud.push(unescaped(line)),
            None => {
                flush(&mut loud, &mut out);
                out.push(line.to_string());
            }
        }
    }
    flush(&mut loud, &mut out);
    out.join("\n")
}

/// The loud lines gathered so far, fenced, onto `out`.
fn flush(loud: &mut Vec<String>, out: &mut Vec<String>) {
    if loud.is_empty() {
        return;
    }
    let longest = loud
        .iter()
        .flat_map(|l| l.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    out.push(fence.clone());
    out.append(loud);
    out.push(fence);
}

/// A line of Markdown with its backslash escapes of ASCII punctuation undone.
fn unescaped(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(n)) if n.is_ascii_punctuation() => {
                out.push(*n);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule "a line of afk's Markdown that carries an @-name, a Jira
    /// mention or a Linear address goes to a tracker inside a fence of its
    /// own, unescaped; everything else as it was".
    #[test]
    fn loud_lines_go_to_a_tracker_inside_a_fence_of_their_own() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "quiet",
                "**afk** progress\n\n- [x] dispatched",
                "**afk** progress\n\n- [x] dispatched",
            ),
            (
                "an escaped @-name",
                "intro\n- the agent says: \\@alice \\[\\~accountid:x\\] PLAT-9 #close\nend",
                "intro\n```\n- the agent says: @alice [~accountid:x] PLAT-9 #close\n```\nend",
            ),
            (
                "a Linear address, two loud lines in one fence",
                "- a: https://LINEAR.app/acme/profiles/bob\n- b: @x",
                "```\n- a: https://LINEAR.app/acme/profiles/bob\n- b: @x\n```",
            ),
            (
                "a backtick run inside takes a longer fence",
                "- q: @a ```` b",
                "`````\n- q: @a ```` b\n`````",
            ),
            (
                "fenced text stays as it is",
                "````\n@admin\n```\nstill in\n````\n@b",
                "````\n@admin\n```\nstill in\n````\n```\n@b\n```",
            ),
            ("a tilde fence too", "~~~\n@a\n~~~", "~~~\n@a\n~~~"),
            (
                "a literal backslash stays one",
                "- @a \\\\ b",
                "```\n- @a \\ b\n```",
            ),
        ];
        for (name, md, want) in cases {
            assert_eq!(fenced(md), *want, "{name}");
        }
    }
}
