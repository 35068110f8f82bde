//! afk's marker on the comments it writes in a tracker, as a visible
//! first line (Jira and Linear alike): only afk's own comments are read
//! for it, so the line is afk's word, never another's.

/// afk's marker as the first line of a comment it writes in a tracker:
/// the forge's hidden `<!-- afk:checklist -->` or `<!-- afk:escalation
/// run=7 -->` becomes the visible `afk · checklist` or `afk · escalation ·
/// run 7`. Linear's Markdown documents no HTML comments
/// (docs/fidelity/linear.md), so one may be dropped or shown escaped, and
/// Jira's comment list never returns a comment's properties
/// (docs/fidelity/jira-cloud.md): plain words come back as they went, so
/// afk finds its checklist again. Any other body is as it was.
pub fn marker_out(body: &str) -> String {
    with_first_line(body, |first| {
        let inner = first.strip_prefix("<!-- afk:")?.strip_suffix(" -->")?;
        let (kind, pairs) = marker_parts(inner.split(' '), '=')?;
        let mut line = format!("afk · {kind}");
        for (k, v) in pairs {
            line.push_str(&format!(" · {k} {v}"));
        }
        Some(line)
    })
}

/// [`marker_out`] undone: a comment of afk's whose first line is its
/// visible marker has the forge's hidden one again.
pub fn marker_in(body: &str) -> String {
    with_first_line(body, |first| {
        let inner = first.strip_prefix("afk · ")?;
        let (kind, pairs) = marker_parts(inner.split(" · "), ' ')?;
        let mut line = format!("<!-- afk:{kind}");
        for (k, v) in pairs {
            line.push_str(&format!(" {k}={v}"));
        }
        line.push_str(" -->");
        Some(line)
    })
}

/// `body` with its first line as `f` makes it; as it was when `f` makes none.
fn with_first_line(body: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let (first, rest) = body.split_once('\n').unwrap_or((body, ""));
    match f(first) {
        Some(line) if body.contains('\n') => format!("{line}\n{rest}"),
        Some(line) => line,
        None => body.to_string(),
    }
}

/// A marker's kind, then its `key` `number` pairs (each split at `pair`);
/// None when any part is not a marker's.
fn marker_parts<'a>(
    mut parts: impl Iterator<Item = &'a str>,
    pair: char,
) -> Option<(&'a str, Vec<(&'a str, &'a str)>)> {
    let kind = parts.next().filter(|k| is_word(k))?;
    let pairs: Vec<(&str, &str)> = parts.map(|p| p.split_once(pair)).collect::<Option<_>>()?;
    pairs
        .iter()
        .all(|(k, v)| is_word(k) && is_number(v))
        .then_some((kind, pairs))
}

/// A marker's word: lower-case letters and hyphens.
fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}
