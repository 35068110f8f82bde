//! The lines of an issue's text that name its blockers: `Blocked by …` or
//! `Depends on …`, in any case, after an optional list marker (`-`, `*`,
//! `+`, `1.`, `1)`) and task box (`[ ]`, `[x]`). What follows the lead is
//! read by the forge's rule (`#N`, `owner/repo#N`) or the tracker's (a key,
//! a browse URL).

/// The rest of `line` after its `Blocked by` / `Depends on` lead; None for
/// a line that names no blocker.
pub fn rest(line: &str) -> Option<&str> {
    let mut l = line.trim_start();
    if let Some(after) = l.strip_prefix(['-', '*', '+']) {
        l = after.trim_start();
    } else {
        let digits = l.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && l[digits..].starts_with(['.', ')']) {
            l = l[digits + 1..].trim_start();
        }
    }
    if let Some(after) = l.strip_prefix("[ ]").or_else(|| l.strip_prefix("[x]")) {
        l = after.trim_start();
    }
    let lead = l.get(..10)?.to_ascii_lowercase();
    (lead == "blocked by" || lead == "depends on").then(|| &l[10..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocker_line_is_led_by_blocked_by_or_depends_on_after_a_list_marker_or_task_box() {
        let cases = [
            ("Blocked by #12", Some(" #12")),
            ("- depends on acme/lib#3", Some(" acme/lib#3")),
            ("* DEPENDS ON #5", Some(" #5")),
            ("1. Blocked by #6", Some(" #6")),
            ("2) blocked by PLAT-7", Some(" PLAT-7")),
            ("  - [ ] Blocked by #8", Some(" #8")),
            ("+ [x] depends on #9", Some(" #9")),
            ("not blocked by #7", None),
            ("Blocked", None),
            ("", None),
            // a multi-byte character where the lead would end reads nothing
            ("Blocked b\u{e9} #1", None),
        ];
        for (line, want) in cases {
            assert_eq!(rest(line), want, "{line:?}");
        }
    }
}
