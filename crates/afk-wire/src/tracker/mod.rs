//! Work taken from a tracker beside the forge (docs/trackers.md): Jira
//! Cloud's issues read as afk's ready rule reads a forge's (its changelog
//! as a timeline, its trust from groups and named accounts, its links as
//! blockers), its text (Atlassian Document Format) as the prompt's, and
//! which repository an issue is for; Linear's likewise (its `IssueHistory`
//! as a timeline, its trust from team membership). The forge still hosts the code, the
//! pull request, CI and reviews.

pub mod adf;
pub mod agent_session;
pub mod described;
pub mod done;
pub mod jira;
pub mod linear;
pub mod loud;
pub mod map;
pub mod marker;
pub mod trust;

/// The most of afk's Markdown one tracker comment or activity holds, in
/// bytes: 32 KiB, under Jira's 32,767 characters of a text field
/// (docs/fidelity/jira-cloud.md) however it counts.
pub const TEXT_MAX: usize = 32 * 1024;

/// `md` when it fits in `max` bytes; else its lines up to the last that
/// fits (a fence open there closed), then a line saying where and how much
/// afk cut.
pub fn within(md: &str, max: usize) -> String {
    if md.len() <= max {
        return md.to_string();
    }
    const SAID: usize = 200;
    let room = max.saturating_sub(SAID);
    let mut out = String::new();
    let mut fence: Option<String> = None;
    for line in md.split_inclusive('\n') {
        let close = fence.as_ref().map_or(0, |f| f.len() + 1);
        if out.len() + line.len() + close > room {
            break;
        }
        out.push_str(line);
        let t = line.trim();
        let ticks = t.chars().take_while(|c| *c == '`').count();
        match &fence {
            Some(f) if ticks >= f.len() && t.chars().all(|c| c == '`') => fence = None,
            Some(_) => {}
            None if ticks >= 3 => fence = Some("`".repeat(ticks)),
            None => {}
        }
    }
    if !out.ends_with('\n') && !out.is_empty() {
        out.push('\n');
    }
    if let Some(f) = fence {
        out.push_str(&f);
        out.push('\n');
    }
    out.push_str(&format!(
        "\nafk cut this comment here: {} more bytes are not shown (a tracker comment holds at most {} KiB).\n",
        md.len() - out.len().min(md.len()),
        max / 1024
    ));
    out
}

#[cfg(test)]
mod tests {
    /// The rule "a tracker comment over its limit is cut at a line, a fence
    /// open there closed, and the cut said".
    #[test]
    fn a_tracker_comment_over_its_limit_is_cut_at_a_line_and_says_so() {
        let short = "a\nb\n";
        assert_eq!(super::within(short, 1024), short);
        let long = format!("head\n```\n{}```\ntail\n", "x123456789\n".repeat(200));
        let cut = super::within(&long, 1024);
        assert!(cut.len() <= 1024, "{}", cut.len());
        assert!(cut.starts_with("head\n```\nx123456789\n"), "{cut}");
        assert!(
            cut.contains("x123456789\n```\n\nafk cut this comment here: "),
            "{cut}"
        );
        assert!(
            cut.ends_with("(a tracker comment holds at most 1 KiB).\n"),
            "{cut}"
        );
        let fences = cut.lines().filter(|l| l.starts_with("```")).count();
        assert_eq!(fences % 2, 0, "every fence closed: {cut}");
    }
}
