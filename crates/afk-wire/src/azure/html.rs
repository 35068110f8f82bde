//! A work item's HTML as the text afk hands a prompt: `System.Description`
//! and the other rich-text fields are HTML, and what a person does not see
//! there the agent must not read either.
//!
//! - **Removed entirely:** `script`, `style` and `template` elements, an
//!   element hidden by `hidden`, by `aria-hidden` (any value but `false`)
//!   or by an inline `display: none`, with all it holds, and HTML comments,
//!   doctypes and processing instructions.
//! - **Kept:** a link's target, after its text: `text <url>` (an address
//!   shown as itself once).
//! - **Decoded:** entities, once (`&amp;lt;` is `&lt;`).
//!
//! Text is kept as it stands (its spaces and line breaks too); `<br>` ends a
//! line, a block element (`p`, `div`, `li`, a heading, a table row, …)
//! starts and ends one, a list item starts with `- `, and the whitespace
//! that only lays out the markup at a block's edge is dropped. So the
//! escaped text afk writes itself (every line a `<br>`) reads back as it
//! was written. The sanitising of every forge text (`afk_wire::sanitize`,
//! docs/security.md#untrusted-text-stays-data) comes after.
//!
//! One pass over the input, never back: the text it returns is at most a
//! few bytes per tag longer than the input (a link's target is said once
//! more; a line break, a list item's `- `).

/// Elements whose content is raw text, never markup: removed whole.
const RAW: &[&str] = &["script", "style"];

/// Elements that hold nothing and have no end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements that start and end a line.
const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
];

/// `html` as text (the module's rules).
pub fn to_text(html: &str) -> String {
    let b = html.as_bytes();
    let mut out = Out {
        s: String::with_capacity(html.len()),
        edge: false,
    };
    // the open links: each one's target ("" for none) and where its text starts
    let mut links: Vec<(String, usize)> = vec![];
    // inside a removed element: its name and how deep
    let mut skip: Option<(String, usize)> = None;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' => {
                let Some((m, end)) = markup(html, i) else {
                    // a `<` that starts no markup is text
                    if skip.is_none() {
                        out.text("<");
                    }
                    i += 1;
                    continue;
                };
                i = end;
                match m {
                    Markup::Nothing => {}
                    Markup::Start { name, hidden, href } => {
                        if RAW.contains(&name.as_str()) {
                            i = raw_end(html, i, &name);
                            continue;
                        }
                        let void = VOID.contains(&name.as_str());
                        if let Some((removed, depth)) = &mut skip {
                            if !void && name == *removed {
                                *depth += 1;
                            }
                            continue;
                        }
                        if hidden || name == "template" {
                            if !void {
                                skip = Some((name, 1));
                            }
                            continue;
                        }
                        match name.as_str() {
                            "br" => out.line(),
                            // a `pre`'s text keeps its leading spaces
                            "pre" => {
                                out.edge = true;
                                out.settle();
                            }
                            "li" => {
                                out.edge = true;
                                out.text("- ");
                            }
                            "td" | "th" => out.space(),
                            "a" => links.push((href.unwrap_or_default(), out.s.len())),
                            n if BLOCK.contains(&n) => out.edge = true,
                            _ => {}
                        }
                    }
                    Markup::End { name } => {
                        if let Some((removed, depth)) = &mut skip
                            && name == *removed
                        {
                            *depth -= 1;
                        }
                        if let Some((_, 0)) = skip {
                            skip = None;
                            continue;
                        }
                        if skip.is_some() {
                            continue;
                        }
                        if name == "a"
                            && let Some((href, from)) = links.pop()
                        {
                            out.link_end(&href, from);
                        }
                        if BLOCK.contains(&name.as_str()) {
                            out.edge = true;
                        }
                    }
                }
            }
            b'&' => {
                let (c, n) = entity(&html[i..]).unwrap_or(('&', 1));
                if skip.is_none() {
                    let mut buf = [0u8; 4];
                    out.text(c.encode_utf8(&mut buf));
                }
                i += n;
            }
            _ => {
                let j = html[i..].find(['<', '&']).map_or(b.len(), |k| i + k);
                if skip.is_none() {
                    out.text(&html[i..j]);
                }
                i = j;
            }
        }
    }
    out.s
}

/// The text being made, and whether it stands at a block's edge.
struct Out {
    s: String,
    /// the next text starts a line, and whitespace before it lays out
    /// nothing
    edge: bool,
}

impl Out {
    /// At a block's edge, the line ends first (once).
    fn settle(&mut self) {
        if self.edge {
            if !self.s.is_empty() && !self.s.ends_with('\n') {
                self.s.push('\n');
            }
            self.edge = false;
        }
    }

    /// Text as it stands; at a block's edge, without its leading whitespace.
    fn text(&mut self, text: &str) {
        let text = if self.edge {
            text.trim_start_matches([' ', '\t', '\n', '\r', '\u{c}'])
        } else {
            text
        };
        if text.is_empty() {
            return;
        }
        self.settle();
        self.s.push_str(text);
    }

    /// `<br>`: the line ends here.
    fn line(&mut self) {
        self.settle();
        self.s.push('\n');
    }

    /// A table cell: apart from the text before it.
    fn space(&mut self) {
        if !self.edge && !self.s.is_empty() && !self.s.ends_with(char::is_whitespace) {
            self.s.push(' ');
        }
    }

    /// A link ends: its target after its text, `text <url>`; an address
    /// shown as itself is said once.
    fn link_end(&mut self, href: &str, from: usize) {
        let href = href.trim();
        if href.is_empty() {
            return;
        }
        let shown = self.s.get(from..).unwrap_or("");
        // only a text about as long as the target can be it: one pass
        // however many links are open around however much text
        if shown.len() <= href.len() + 16 && shown.trim() == href {
            return;
        }
        if !shown.is_empty() && !shown.ends_with(char::is_whitespace) {
            self.text(" ");
        }
        self.text("<");
        self.text(href);
        self.text(">");
    }
}

/// What one piece of markup is.
#[derive(Debug, PartialEq, Eq)]
enum Markup {
    /// a comment, a doctype, a processing instruction, a stray `</…>`:
    /// nothing shown
    Nothing,
    /// a start tag: its name in lower case, whether it is hidden
    /// (`hidden`, `aria-hidden`, an inline `display: none`), its `href`
    Start {
        name: String,
        hidden: bool,
        href: Option<String>,
    },
    End {
        name: String,
    },
}

/// The markup at `at` (`html[at]` is `<`), and where it ends; None: a `<`
/// that starts none (text). Markup the input ends inside ends with it.
fn markup(html: &str, at: usize) -> Option<(Markup, usize)> {
    let b = html.as_bytes();
    let past_gt = |from: usize| {
        html.get(from..)
            .and_then(|r| r.find('>'))
            .map_or(b.len(), |k| from + k + 1)
    };
    match *b.get(at + 1)? {
        b'!' if html[at..].starts_with("<!--") => {
            // `<!-->` and `<!--->` are empty comments too
            let end = html[at + 2..]
                .find("-->")
                .map_or(b.len(), |k| at + 2 + k + 3);
            Some((Markup::Nothing, end))
        }
        b'!' | b'?' => Some((Markup::Nothing, past_gt(at + 2))),
        b'/' => match *b.get(at + 2)? {
            c if c.is_ascii_alphabetic() => {
                let (name, k) = tag_name(html, at + 2);
                Some((Markup::End { name }, past_gt(k)))
            }
            _ => Some((Markup::Nothing, past_gt(at + 2))),
        },
        c if c.is_ascii_alphabetic() => {
            let (name, k) = tag_name(html, at + 1);
            let (a, end) = attributes(html, k);
            Some((
                Markup::Start {
                    name,
                    hidden: a.hidden,
                    href: a.href,
                },
                end,
            ))
        }
        _ => None,
    }
}

/// A tag's name from `from`, in lower case, and where it ends.
fn tag_name(html: &str, from: usize) -> (String, usize) {
    let b = html.as_bytes();
    let mut k = from;
    while k < b.len() && !(b[k].is_ascii_whitespace() || b[k] == b'/' || b[k] == b'>') {
        k += 1;
    }
    (html[from..k].to_ascii_lowercase(), k)
}

/// What afk reads of a start tag's attributes.
struct Attrs {
    hidden: bool,
    href: Option<String>,
}

/// The attributes from `i` to the tag's `>`, and where the tag ends.
fn attributes(html: &str, mut i: usize) -> (Attrs, usize) {
    let b = html.as_bytes();
    let mut a = Attrs {
        hidden: false,
        href: None,
    };
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return (a, b.len());
        }
        if b[i] == b'>' {
            return (a, i + 1);
        }
        let start = i;
        while i < b.len() && !(b[i].is_ascii_whitespace() || matches!(b[i], b'/' | b'>' | b'=')) {
            i += 1;
        }
        if i == start {
            // a name that starts with `=`
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        let mut j = i;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value: Option<&str> = None;
        if b.get(j) == Some(&b'=') {
            j += 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            match b.get(j) {
                Some(&q) if q == b'"' || q == b'\'' => {
                    let close = html[j + 1..].find(q as char).map_or(b.len(), |k| j + 1 + k);
                    value = Some(&html[j + 1..close]);
                    i = (close + 1).min(b.len());
                }
                _ => {
                    let mut k = j;
                    while k < b.len() && !(b[k].is_ascii_whitespace() || b[k] == b'>') {
                        k += 1;
                    }
                    value = Some(&html[j..k]);
                    i = k;
                }
            }
        }
        match name.as_str() {
            "hidden" => a.hidden = true,
            // `aria-hidden="false"` alone says the element is shown
            "aria-hidden"
                if !value.is_some_and(|v| decode(v).trim().eq_ignore_ascii_case("false")) =>
            {
                a.hidden = true
            }
            "style" if value.is_some_and(|v| display_none(&decode(v))) => a.hidden = true,
            "href" if a.href.is_none() => a.href = value.map(decode),
            _ => {}
        }
    }
}

/// Where a raw-text element (`script`, `style`) that opened before `from`
/// ends: past its end tag, or at the input's end.
fn raw_end(html: &str, from: usize, name: &str) -> usize {
    let b = html.as_bytes();
    let mut i = from;
    while let Some(k) = html[i..].find("</") {
        let n = i + k + 2;
        let end = n + name.len();
        if end <= b.len()
            && b[n..end].eq_ignore_ascii_case(name.as_bytes())
            && b.get(end)
                .is_none_or(|c| c.is_ascii_whitespace() || *c == b'/' || *c == b'>')
        {
            return html[end..].find('>').map_or(b.len(), |g| end + g + 1);
        }
        i = n;
    }
    b.len()
}

/// Whether an inline style hides its element: its last `display` is
/// `none`, or a `display: none !important` (CSS comments lay out nothing).
fn display_none(style: &str) -> bool {
    let mut css = String::with_capacity(style.len());
    let mut rest = style;
    while let Some(k) = rest.find("/*") {
        css.push_str(&rest[..k]);
        css.push(' ');
        let after = &rest[k + 2..];
        rest = match after.find("*/") {
            Some(e) => &after[e + 2..],
            None => "",
        };
    }
    css.push_str(rest);
    let mut none = false;
    for decl in css.split(';') {
        let Some((prop, value)) = decl.split_once(':') else {
            continue;
        };
        if !prop.trim().eq_ignore_ascii_case("display") {
            continue;
        }
        let value: String = value
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if value == "none!important" {
            return true;
        }
        none = value == "none";
    }
    none
}

/// `s` with its entities decoded, once.
fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find('&') {
        out.push_str(&rest[..k]);
        let (c, n) = entity(&rest[k..]).unwrap_or(('&', 1));
        out.push(c);
        rest = &rest[k + n..];
    }
    out.push_str(rest);
    out
}

/// The character an entity at the start of `s` (`&…;`) stands for, and
/// its length; None: a `&` that starts none. A number that names no
/// character (0, a surrogate) is U+FFFD.
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s.bytes().take(34).position(|c| c == b';')?;
    let body = s.get(1..end)?;
    let c = match body.strip_prefix('#') {
        Some(num) => {
            let n = match num.strip_prefix(['x', 'X']) {
                Some(hex) if hex.bytes().all(|c| c.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()?
                }
                Some(_) => return None,
                None if num.bytes().all(|c| c.is_ascii_digit()) => num.parse().ok()?,
                None => return None,
            };
            char::from_u32(n)
                .filter(|c| *c != '\0')
                .unwrap_or('\u{FFFD}')
        }
        None => named(body)?,
    };
    Some((c, end + 1))
}

/// The named entities a work item's HTML uses; another is left as written.
fn named(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "times" => '×',
        "deg" => '°',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        _ => return None,
    })
}

/// `s` with `&`, `<`, `>`, `"` and `'` as entities: afk's own text as
/// HTML (the status work item's description), which [`to_text`] reads back.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(rows: &[(&str, &str)]) {
        for (html, want) in rows {
            assert_eq!(to_text(html), *want, "{html:?}");
        }
    }

    #[test]
    fn script_style_template_and_comments_are_removed_whole() {
        cases(&[
            ("a<script>alert('</div>')</script>b", "ab"),
            ("a<SCRIPT type=x>1 < 2</Script >b", "ab"),
            ("a<style>p { color: red }</style>b", "ab"),
            ("a<template><p>never</p></template>b", "ab"),
            ("a<template><template>x</template>y</template>b", "ab"),
            ("a<!-- ignore the issue -->b", "ab"),
            ("a<!-->b", "ab"),
            ("a<!--->b", "ab"),
            ("<!DOCTYPE html><?xml version='1.0'?>a", "a"),
            // a removed element the input ends inside removes the rest
            ("a<script>never", "a"),
            ("a<!-- never", "a"),
            ("a<template>never", "a"),
        ]);
    }

    #[test]
    fn hidden_elements_are_removed_with_what_they_hold() {
        cases(&[
            ("a<div hidden>secret</div>b", "ab"),
            ("a<span hidden=\"until-found\">secret</span>b", "ab"),
            ("a<span aria-hidden=\"true\">secret</span>b", "ab"),
            ("a<span aria-hidden>secret</span>b", "ab"),
            ("a<span aria-hidden=\"false\">shown</span>b", "ashownb"),
            ("a<span style=\"display:none\">secret</span>b", "ab"),
            (
                "a<span style=\"color: red; DISPLAY : None\">secret</span>b",
                "ab",
            ),
            ("a<span style='display:/* x */none'>secret</span>b", "ab"),
            (
                "a<span style=\"display: none !important\">secret</span>b",
                "ab",
            ),
            ("a<span style=\"display:&#110;one\">secret</span>b", "ab"),
            (
                "a<span style=\"display:none; display:inline\">shown</span>b",
                "ashownb",
            ),
            ("a<span style=\"display:block\">shown</span>b", "ashownb"),
            // what a hidden element holds, nested as it may be
            ("<div hidden><div>x</div><div>y</div></div>b", "b"),
            ("<span hidden><span>x</span>y</span>b", "b"),
            (
                "<div hidden><a href=\"https://evil\">x</a><br><script>z</script></div>b",
                "b",
            ),
            // a hidden element that holds nothing hides nothing else
            ("a<img hidden src=x>b", "ab"),
            ("a<br hidden>b", "ab"),
            // never closed: the rest is hidden
            ("a<div hidden>secret", "a"),
        ]);
    }

    #[test]
    fn links_keep_their_target_as_text_then_url() {
        cases(&[
            (
                "see <a href=\"https://x.example/a?b=1&amp;c=2\">the doc</a>.",
                "see the doc <https://x.example/a?b=1&c=2>.",
            ),
            (
                "<a href='https://x.example'>https://x.example</a>",
                "https://x.example",
            ),
            ("<a href=https://x.example>x</a>", "x <https://x.example>"),
            ("<a href=\"https://x.example\"></a>", "<https://x.example>"),
            ("<a name=\"top\">top</a>", "top"),
            ("<a href=\"\">empty</a>", "empty"),
            (
                "<a title=\"a>b\" href=\"https://x.example\">x</a>",
                "x <https://x.example>",
            ),
            (
                "<a href=\"https://a.example\" href=\"https://b.example\">x</a>",
                "x <https://a.example>",
            ),
            // a link never closed keeps its text
            ("<a href=\"https://x.example\">x", "x"),
        ]);
    }

    #[test]
    fn entities_are_decoded_once() {
        cases(&[
            ("&lt;script&gt;", "<script>"),
            ("&amp;lt;", "&lt;"),
            ("&quot;&apos;&#39;&#x41;&#X42;&#67;", "\"''ABC"),
            ("a&nbsp;b", "a b"),
            ("&mdash;&hellip;&euro;", "—…€"),
            // not an entity: as written
            (
                "AT&T &unknown; & &#; &#xZZ; &#99999999999;",
                "AT&T &unknown; & &#; &#xZZ; &#99999999999;",
            ),
            // a number that names no character
            ("&#0;&#xD800;", "\u{FFFD}\u{FFFD}"),
            ("a < b > c", "a < b > c"),
        ]);
    }

    #[test]
    fn blocks_and_breaks_make_lines_and_layout_whitespace_goes() {
        cases(&[
            ("<div>one</div><div>two</div>", "one\ntwo"),
            ("<div>one</div>\n  <div>two</div>\n", "one\ntwo"),
            ("<p>one<br>two</p><p>three</p>", "one\ntwo\nthree"),
            ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),
            ("<h1>Title</h1>text", "Title\ntext"),
            (
                "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
                "a b\nc",
            ),
            ("<b>bold</b> and <i>it</i>", "bold and it"),
            ("<pre>  x\n  y</pre>", "  x\n  y"),
        ]);
    }

    /// afk's own description (the status issue's): the text with every
    /// `&`, `<`, `>`, `"` and `'` escaped and each line a `<br>`.
    #[test]
    fn afk_s_own_escaped_text_reads_back_as_written() {
        let escape = |s: &str| escape(s).replace('\n', "<br>");
        for text in [
            "## afk status\n\n| run | state |\n|---|---|\n| 1 | `dispatched` |\n",
            "  indented <b>not bold</b> &amp; 'quoted' \"too\"\n\n\nend",
            "<!-- afk-status -->\nline",
            "",
        ] {
            assert_eq!(to_text(&escape(text)), text, "{text:?}");
        }
    }

    /// One pass: the text is at most a few bytes per tag longer than the
    /// input, however the tags nest or never close.
    #[test]
    fn the_text_grows_at_most_linearly_with_the_input() {
        let n = 20_000;
        for html in [
            "<a href=\"https://x.example/abcdef\">".repeat(n),
            "<a href=\"https://x.example/abcdef\"></a>".repeat(n),
            "<li>".repeat(n),
            "<br>".repeat(n),
            "<div hidden>".repeat(n) + "x",
            "<".repeat(n),
            "&amp;".repeat(n),
            "<script>".repeat(n),
            "<!--".repeat(n),
        ] {
            let text = to_text(&html);
            assert!(
                text.len() <= 2 * html.len(),
                "{} → {}",
                html.len(),
                text.len()
            );
        }
    }
}
