//! Work-item tags: `System.Tags` is one string, tags split on `;` and
//! trimmed, compared case-insensitively and whole (never as substrings); afk
//! writes the list it just read with its change applied and `; ` between the
//! tags.

/// The tags of a `System.Tags` value (absent: none), in order, blanks dropped.
pub fn parse(tags: Option<&str>) -> Vec<String> {
    tags.unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `tags` holds `tag`, whole and case-insensitively.
pub fn has(tags: &[String], tag: &str) -> bool {
    tags.iter().any(|t| t.eq_ignore_ascii_case(tag.trim()))
}

/// `tags` with `add` added (once, at the end) and every tag equal to one of
/// `remove` taken out: the tags a person added meanwhile are kept as read.
pub fn apply(tags: &[String], add: &[&str], remove: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .filter(|t| !remove.iter().any(|r| t.eq_ignore_ascii_case(r.trim())))
        .cloned()
        .collect();
    for a in add {
        if !has(&out, a) {
            out.push(a.trim().to_string());
        }
    }
    out
}

/// The `System.Tags` value afk writes: the tags joined with `; `.
pub fn write(tags: &[String]) -> String {
    tags.join("; ")
}

/// Whether `ready` was added by a change from `old` to `new`: in `new` and
/// not in `old`; an absent `old` is a work item created with it.
pub fn added(old: Option<&str>, new: Option<&str>, tag: &str) -> bool {
    has(&parse(new), tag) && !has(&parse(old), tag)
}

/// Whether `tag` was removed by a change from `old` to `new`.
pub fn removed(old: Option<&str>, new: Option<&str>, tag: &str) -> bool {
    has(&parse(old), tag) && !has(&parse(new), tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_split_on_semicolons_trimmed_and_compared_whole() {
        let cases = [
            (Some("ready-for-agent; Backend"), "ready-for-agent", true),
            (Some("READY-for-agent"), "ready-for-agent", true),
            (Some("ready-for-agent-2"), "ready-for-agent", false),
            (Some("not ready-for-agent"), "ready-for-agent", false),
            (Some(" ; ready-for-agent ;"), "ready-for-agent", true),
            (None, "ready-for-agent", false),
        ];
        for (tags, tag, want) in cases {
            assert_eq!(has(&parse(tags), tag), want, "{tags:?} {tag}");
        }
    }

    #[test]
    fn a_tag_write_keeps_a_person_s_tags_and_joins_with_semicolon_space() {
        let read = parse(Some("Backend; ready-for-agent; agent-in-progress"));
        let cases = [
            (
                vec!["needs-human"],
                vec!["ready-for-agent", "AGENT-IN-PROGRESS"],
                "Backend; needs-human",
            ),
            (
                vec!["agent-in-progress"],
                vec![],
                "Backend; ready-for-agent; agent-in-progress",
            ),
            (
                vec![],
                vec!["absent"],
                "Backend; ready-for-agent; agent-in-progress",
            ),
        ];
        for (add, remove, want) in cases {
            assert_eq!(
                write(&apply(&read, &add, &remove)),
                want,
                "{add:?} {remove:?}"
            );
        }
    }

    /// (oldValue, newValue, whether the ready tag was added)
    #[test]
    fn the_arming_is_the_update_that_added_the_tag() {
        let cases = [
            (None, Some("ready-for-agent"), true),
            (Some("Backend"), Some("Backend; ready-for-agent"), true),
            (
                Some("ready-for-agent"),
                Some("ready-for-agent; Backend"),
                false,
            ),
            (
                Some("ready-for-agent-2"),
                Some("ready-for-agent-2; x"),
                false,
            ),
            (Some("ready-for-agent"), Some("Backend"), false),
        ];
        for (old, new, want) in cases {
            assert_eq!(
                added(old, new, "ready-for-agent"),
                want,
                "{old:?} -> {new:?}"
            );
        }
        assert!(removed(
            Some("a; ready-for-agent"),
            Some("a"),
            "ready-for-agent"
        ));
    }
}
