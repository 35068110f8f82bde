//! What a Jira issue's description names in words people write: the
//! blockers on its `Blocked by` / `Depends on` lines, by key or by the
//! site's browse URL (docs/trackers.md#blocked). Text in, keys out; the
//! adapter reads each key.

/// The most blockers one description names that afk reads; the rest block
/// unread (a description is anyone's text: it buys no unbounded reads).
pub const MAX_DESCRIBED_BLOCKERS: usize = 10;

/// Whether `s` is a Jira issue key: a project key (a capital letter, then
/// capitals, digits or `_`), `-`, and a number.
pub fn is_key(s: &str) -> bool {
    let Some((project, number)) = s.split_once('-') else {
        return false;
    };
    let mut p = project.chars();
    p.next().is_some_and(|c| c.is_ascii_uppercase())
        && p.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

/// The issues the `Blocked by` / `Depends on` lines of a description's
/// text name (`crate::blocked_by`): each a key (`PLAT-7`) or a browse URL
/// of the site `site` (`https://acme.atlassian.net/browse/PLAT-7`), in the
/// order written, each once. A URL of another host, or any other word,
/// names nothing.
pub fn description_blockers(text: &str, site: &str) -> Vec<String> {
    let browse = format!("{}/browse/", site.trim_end_matches('/'));
    blockers_under(text, &browse)
}

/// [`description_blockers`] with the issues' web addresses under `prefix`
/// (Jira's `{site}/browse/`, Linear's `https://linear.app/<workspace>/issue/`;
/// "": none, keys alone).
pub fn blockers_under(text: &str, prefix: &str) -> Vec<String> {
    let browse = (!prefix.is_empty()).then_some(prefix);
    let mut out: Vec<String> = vec![];
    for rest in text.lines().filter_map(crate::blocked_by::rest) {
        for word in rest.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')')) {
            let word = word.trim_end_matches(['.', ':', '!', '?']);
            let key = match browse.and_then(|b| word.strip_prefix(b)) {
                Some(tail) => tail.split(['/', '?', '#']).next().unwrap_or(""),
                None if word.contains("://") => continue,
                None => word,
            };
            if is_key(key) && !out.iter().any(|k| k == key) {
                out.push(key.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule "a Linear description names blockers by identifier or by
    /// the workspace's issue address; without the workspace, keys alone".
    #[test]
    fn a_linear_description_names_blockers_by_identifier_or_its_workspaces_issue_address() {
        let prefix = "https://linear.app/acme/issue/";
        let cases: [(&str, &str, &[&str]); 4] = [
            ("Blocked by ENG-7", prefix, &["ENG-7"]),
            (
                "Depends on https://linear.app/acme/issue/ENG-8/fix-the-lexer",
                prefix,
                &["ENG-8"],
            ),
            (
                "Blocked by https://linear.app/other/issue/ENG-9/x",
                prefix,
                &[],
            ),
            (
                "Blocked by https://linear.app/acme/issue/ENG-8/x, ENG-2",
                "",
                &["ENG-2"],
            ),
        ];
        for (text, prefix, want) in cases {
            assert_eq!(blockers_under(text, prefix), want, "{text}");
        }
    }

    #[test]
    fn a_description_names_blockers_by_key_or_by_the_sites_browse_url_on_its_blocker_lines() {
        let site = "https://acme.atlassian.net";
        let cases: [(&str, &[&str]); 9] = [
            ("Blocked by PLAT-7", &["PLAT-7"]),
            (
                "- depends on PLAT-7, OPS_2-13 and the lexer.",
                &["PLAT-7", "OPS_2-13"],
            ),
            (
                "Blocked by https://acme.atlassian.net/browse/PLAT-9?focusedCommentId=1",
                &["PLAT-9"],
            ),
            ("Blocked by https://evil.example/browse/PLAT-9", &[]),
            ("Blocked by plat-7 (a key is in capitals)", &[]),
            ("See PLAT-7\nNot blocked by PLAT-8", &[]),
            (
                "Blocked by PLAT-7\n1. Depends on (PLAT-7) and PLAT-8:",
                &["PLAT-7", "PLAT-8"],
            ),
            ("Blocked by #12 and 7-PLAT", &[]),
            ("Blocked by PLAT- and -7 and PLAT-7x", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(description_blockers(text, site), want, "{text:?}");
        }
    }
}
