//! The one `Link` header parser (RFC 8288), for every adapter that pages:
//! the forges and the registries. Pure text in, a URL out.

/// The `rel="next"` URL of a `Link` header. URLs may hold commas (a label
/// list), so entries are found by their `<...>` brackets, never split on
/// commas; `rel` is matched without regard to case or spaces around `=`.
pub fn next_link(link: &str) -> Option<String> {
    let mut rest = link;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let url = &after[..close];
        let tail = &after[close + 1..];
        let params = &tail[..tail.find('<').unwrap_or(tail.len())];
        let is_next = params.split(';').any(|p| {
            let p = p
                .trim()
                .trim_end_matches(',')
                .to_ascii_lowercase()
                .replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        if is_next {
            return Some(url.to_string());
        }
        rest = tail;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_found_by_its_brackets_not_by_commas() {
        let cases = [
            (
                r#"<https://x/r?page=2>; rel="next", <https://x/r?page=5>; rel="last""#,
                Some("https://x/r?page=2"),
            ),
            (
                r#"<https://x/r?page=1>; rel="prev", <https://x/r?labels=a,b&page=3>; rel="next""#,
                Some("https://x/r?labels=a,b&page=3"),
            ),
            (
                r#"<https://x/r?page=1>; rel="first", <https://x/r?page=1>; rel="prev""#,
                None,
            ),
            ("", None),
            ("<https://x/r?page=2>; rel=next", Some("https://x/r?page=2")),
            (
                "<https://x/r?page=2>; REL = \"Next\"",
                Some("https://x/r?page=2"),
            ),
        ];
        for (link, want) in cases {
            assert_eq!(next_link(link).as_deref(), want, "{link}");
        }
    }
}
