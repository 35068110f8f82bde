//! Cleaning of untrusted text from the forge (SPEC 3 step 8): issue bodies and
//! titles, CI status contexts, descriptions and URLs, comments. Pure text.

/// Remove HTML comments and zero-width / bidirectional control characters.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.chars().filter(|c| !is_invisible_control(*c)).collect()
}

fn is_invisible_control(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{061C}'              // arabic letter mark
        | '\u{FEFF}'              // zero-width no-break space
        | '\u{00AD}'              // soft hyphen
    )
}

/// A fence longer than any backtick run inside `text`, so the text cannot close it.
pub fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_comments_and_controls_are_removed() {
        assert_eq!(sanitize("a<!-- x -->b"), "ab");
        assert_eq!(sanitize("a<!-- never closed"), "a");
        assert_eq!(sanitize("z\u{200B}e\u{202E}r\u{2066}o\u{FEFF}"), "zero");
        assert_eq!(sanitize("plain\ntext"), "plain\ntext");
    }
}
