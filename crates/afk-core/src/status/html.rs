//! Text for the status page's HTML: escaped and bounded, so forge-,
//! agent- and registry-written text is inert (the page and its tick-health
//! section both write with it).

/// The most characters of one string the page shows (a reason, a phase, a
/// question); the rest is cut with the cut said.
pub(crate) const CELL_MAX: usize = 1_000;

/// Text for HTML: at most `CELL_MAX` characters (the cut said), controls and
/// bidi overrides made visible (`sanitize::for_terminal`), then `& < > " '`
/// escaped, so it is text in an element and in a quoted attribute alike.
pub fn esc(s: &str) -> String {
    match s.char_indices().nth(CELL_MAX) {
        None => esc_whole(s),
        Some((at, _)) => {
            let more = s[at..].chars().count();
            esc_whole(&format!("{}{}", &s[..at], crate::sanitize::cut_note(more)))
        }
    }
}

/// `esc` without the cut: for an href afk built itself.
pub(crate) fn esc_whole(s: &str) -> String {
    let shown = crate::sanitize::for_terminal(s);
    let mut o = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}
