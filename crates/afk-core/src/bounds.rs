//! How much of outside text afk writes (issue 29): a comment stays under the
//! strictest forge's limit, a list of an agent's questions or a forge's
//! failing checks is cut with the cut said, and a comment the forge still
//! refuses is shortened once. Pure text.

use crate::sanitize::grouped;

/// GitHub's limit on a comment body, the strictest of the forges afk writes
/// to: "Body is too long (maximum is 65536 characters)". GitHub counts
/// Unicode characters; others count bytes (a MySQL `TEXT` column) or UTF-16
/// units. (Its test holds [`COMMENT_BUDGET`] under it.)
#[cfg(test)]
pub(crate) const FORGE_COMMENT_MAX: usize = 65_536;

/// The most afk lets a comment grow to, in UTF-8 **bytes**: a text's byte
/// count is never below its count of characters or UTF-16 units, so however a
/// forge counts, the comment is under `FORGE_COMMENT_MAX`, with a margin.
pub(crate) const COMMENT_BUDGET: usize = 60_000;

/// The most a comment the forge refused (422: too long, or invalid) is
/// shortened to for its one retry, in bytes.
pub const SHORTENED_MAX: usize = 4_000;

/// `body` when it fits in `max` bytes; else its start, cut at a line's end, a
/// line saying how many characters are not shown, and its last paragraph
/// (where afk's comments say what to do next) when that is short.
pub fn fit(body: &str, max: usize) -> String {
    fit_saying(body, max, "afk cut this comment here")
}

/// The text of a refused comment's one retry: `fit` to `SHORTENED_MAX`,
/// saying why it is short. None when `body` is that short already (the same
/// text would be refused again).
pub fn shortened(body: &str) -> Option<String> {
    (body.len() > SHORTENED_MAX).then(|| {
        fit_saying(
            body,
            SHORTENED_MAX,
            "the forge refused the whole comment, so afk shortened it",
        )
    })
}

/// `fit` whose note says `why` (the status issue says where it was cut).
pub(crate) fn fit_saying(body: &str, max: usize, why: &str) -> String {
    if body.len() <= max {
        return body.to_string();
    }
    let tail = body
        .trim_end()
        .rfind("\n\n")
        .map(|i| &body[i + 2..])
        .filter(|t| t.len() <= max / 4)
        .unwrap_or("");
    // the note is at most this long (its count has at most 20 digits)
    let note_room = why.len() + 80;
    let room = max.saturating_sub(tail.len() + note_room);
    let mut end = room.min(body.len());
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(nl) = body[..end].rfind('\n') {
        end = nl + 1;
    }
    let head = &body[..end];
    let more = body[end..body.len() - tail.len()].chars().count();
    let mut out = head.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "\n_({why}: {} more characters are not shown.)_\n",
        grouped(more)
    ));
    if !tail.is_empty() {
        out.push('\n');
        out.push_str(tail);
    }
    out
}

/// How many of `lines` (each with its ending) a list shows: at most
/// `max_items`, and no more than fit in `budget` bytes together.
pub(crate) fn fitting<S: AsRef<str>>(lines: &[S], max_items: usize, budget: usize) -> usize {
    let mut used = 0;
    lines
        .iter()
        .take(max_items)
        .take_while(|l| {
            used += l.as_ref().len();
            used <= budget
        })
        .count()
}

/// The line that says a list was cut: `… and 4,980 more questions`.
pub fn more(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("… and 1 more {one}"),
        n => format!("… and {} more {many}", grouped(n)),
    }
}

/// A size in bytes as an operator writes it: a whole number and a unit
/// (none or `B`; `K`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB` in powers of 1,000;
/// `Ki`/`KiB` … `Ti`/`TiB` in powers of 1,024). The error names what it is
/// not, with `examples` (`"5MiB", "512KiB"`).
pub fn parse_size(s: &str, examples: &str) -> Result<u64, crate::types::Invalid> {
    let t = s.trim();
    let bad = || crate::types::Invalid(format!("\"{s}\" is not a size (e.g. {examples})"));
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" => 1_000,
        "KiB" | "Ki" => 1 << 10,
        "M" | "MB" => 1_000_000,
        "MiB" | "Mi" => 1 << 20,
        "G" | "GB" => 1_000_000_000,
        "GiB" | "Gi" => 1 << 30,
        "T" | "TB" => 1_000_000_000_000,
        "TiB" | "Ti" => 1 << 40,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_is_a_whole_number_and_a_decimal_or_binary_unit() {
        let cases: &[(&str, Result<u64, ()>)] = &[
            ("1000", Ok(1000)),
            ("7B", Ok(7)),
            ("1MB", Ok(1_000_000)),
            ("2G", Ok(2_000_000_000)),
            ("1T", Ok(1_000_000_000_000)),
            ("512KiB", Ok(512 << 10)),
            ("5Mi", Ok(5 << 20)),
            (" 2 GiB ", Ok(2 << 30)),
            ("1TiB", Ok(1 << 40)),
            ("5mb", Err(())),
            ("MiB", Err(())),
            ("-1", Err(())),
            ("1.5GiB", Err(())),
            ("99999999999TiB", Err(())),
        ];
        for (s, want) in cases {
            assert_eq!(parse_size(s, "\"5MiB\"").map_err(|_| ()), *want, "{s}");
        }
        let e = parse_size("lots", "\"5MiB\"").unwrap_err();
        assert_eq!(e.0, "\"lots\" is not a size (e.g. \"5MiB\")");
    }

    #[test]
    fn a_comment_over_the_budget_keeps_its_start_and_its_last_paragraph() {
        let end = "\n\nhand back: add `ready`.\n";
        let cases: &[(String, usize, bool)] = &[
            ("short\n".to_string() + end, 1_000, false),
            ("line\n".repeat(10_000) + end, 1_000, true),
            ("é".repeat(10_000) + end, 1_000, true),
            // no short last paragraph: the start alone
            ("x".repeat(10_000), 1_000, true),
        ];
        for (body, max, cut) in cases {
            let got = fit(body, *max);
            assert!(got.len() <= *max, "{} bytes", got.len());
            assert_eq!(got.contains("more characters are not shown"), *cut);
            if body.ends_with(end) {
                assert!(got.ends_with("hand back: add `ready`.\n"), "{got}");
            }
            if !cut {
                assert_eq!(&got, body);
            }
        }
        let body = format!("<!-- marker -->\n{}{end}", "line\n".repeat(1_000));
        let got = fit(&body, 1_000);
        assert!(got.starts_with("<!-- marker -->\n"), "the marker stays");
        let shown = got.matches("line\n").count();
        let said: usize = got
            .split("cut this comment here: ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .map(|n| n.replace(',', "").parse().unwrap())
            .unwrap();
        assert_eq!(
            shown * 5 + said,
            5_002,
            "the cut is counted in characters (and the blank line)"
        );
    }

    #[test]
    fn a_refused_comment_is_shortened_once_to_a_few_thousand_bytes() {
        assert_eq!(
            shortened("small"),
            None,
            "the same text would be refused again"
        );
        assert_eq!(shortened(&"x".repeat(SHORTENED_MAX)), None);
        let long = format!("<!-- m -->\n{}\n\nlast words\n", "q\n".repeat(30_000));
        let s = shortened(&long).unwrap();
        assert!(s.len() <= SHORTENED_MAX);
        assert!(s.starts_with("<!-- m -->\n"));
        assert!(s.contains("the forge refused the whole comment, so afk shortened it"));
        assert!(s.ends_with("last words\n"));
    }

    #[test]
    fn a_list_shows_what_fits_its_count_and_its_budget() {
        let lines = ["aaaa\n"; 10];
        let cases = [
            (10, 1_000, 10),
            (3, 1_000, 3),
            (10, 12, 2),
            (10, 4, 0),
            (0, 1_000, 0),
        ];
        for (max_items, budget, want) in cases {
            assert_eq!(
                fitting(&lines, max_items, budget),
                want,
                "{max_items} {budget}"
            );
        }
        assert_eq!(more(1, "question", "questions"), "… and 1 more question");
        assert_eq!(
            more(4_980, "question", "questions"),
            "… and 4,980 more questions"
        );
    }
}
