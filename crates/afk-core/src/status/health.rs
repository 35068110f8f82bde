//! The status page's tick health
//! (docs/operations.md#monitoring-a-check-per-schedule, issue #31): one line
//! per tick kind, and a banner at the top naming every kind that is overdue or
//! failed. The page is static and runs no script, so the banner is decided when
//! the page is written; a page that stopped being rewritten is told by its own
//! `built …` time (also in `<meta name="afk-generated">`), which the header
//! asks the reader to compare with the clock.

use crate::status::html::esc;
use std::fmt::Write as _;

/// One tick kind's health, as `afk status --json`'s `ticks` has it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickRow {
    pub kind: String,
    pub started: Option<String>,
    pub ended: Option<String>,
    pub exit: Option<i64>,
    pub errors: Option<i64>,
    /// `ok`, `failed`, `overdue` or `never` (`tick_deadline::health`)
    pub state: String,
    /// the kind's `expect_every`, in words (`5m`)
    pub every: String,
    /// the ticks webhook events started (`afk hook`) and the last one's start
    pub by_events: Option<(i64, String)>,
}

/// The kinds the banner names: overdue or failed, in the rows' order.
pub(crate) fn alarming(rows: &[TickRow]) -> Vec<&TickRow> {
    rows.iter()
        .filter(|r| r.state == "overdue" || r.state == "failed")
        .collect()
}

/// The banner's text (None: every kind is ok or never ran): each kind that
/// is overdue (with its last start and expected interval) or failed (with
/// its exit status and error count).
pub(crate) fn banner_text(rows: &[TickRow]) -> Option<String> {
    let named: Vec<String> = alarming(rows)
        .iter()
        .map(|r| match r.state.as_str() {
            "overdue" => format!(
                "{} OVERDUE (last started {}; expected every {})",
                r.kind,
                r.started.as_deref().unwrap_or("-"),
                r.every
            ),
            _ => format!(
                "{} FAILED (exit {}, {} at {})",
                r.kind,
                r.exit.map_or("-".into(), |e| e.to_string()),
                crate::plural(r.errors.unwrap_or(0) as usize, "error", "errors"),
                r.ended.as_deref().or(r.started.as_deref()).unwrap_or("-")
            ),
        })
        .collect();
    (!named.is_empty()).then(|| format!("TICK HEALTH: {}", named.join("; ")))
}

/// The banner at the top of the page, decided when the page was written.
pub fn banner(rows: &[TickRow], generated_at: &str) -> String {
    match banner_text(rows) {
        Some(t) => format!(
            "<section id=\"tick-alarm\"><div class=\"banner stop\" role=\"alert\">{} (as of {}; see tick health below)</div></section>\n",
            esc(&t),
            esc(generated_at)
        ),
        None => String::new(),
    }
}

/// The tick health section: one row per kind.
pub fn section(rows: &[TickRow], generated_at: &str) -> String {
    let mut o = String::from("<section id=\"ticks\"><h2>Tick health</h2>");
    let _ = write!(
        o,
        "<p class=\"muted\">As of {}, when this page was written. A kind is overdue when its last start is older than twice its expected interval (<code>expect_every</code>); failed when its last exit was neither 0 nor 141. This page is rewritten after every tick: if the time above is much older than twice the shortest interval, no tick is running at all.</p>",
        esc(generated_at)
    );
    o.push_str("<div class=\"scroll\"><table><thead><tr>");
    for h in [
        "kind",
        "state",
        "started",
        "ended",
        "exit",
        "errors",
        "expected",
        "started by events",
    ] {
        let _ = write!(o, "<th>{h}</th>");
    }
    o.push_str("</tr></thead><tbody>");
    for r in rows {
        let cells = [
            esc(&r.kind),
            esc(&r.state.to_uppercase()),
            esc(r.started.as_deref().unwrap_or("-")),
            esc(r.ended.as_deref().unwrap_or("-")),
            r.exit.map_or("-".into(), |e| e.to_string()),
            r.errors.map_or("-".into(), |e| e.to_string()),
            format!("every {}", esc(&r.every)),
            r.by_events
                .as_ref()
                .map_or("-".into(), |(n, last)| format!("{n} (last {})", esc(last))),
        ];
        o.push_str("<tr>");
        for c in cells {
            let _ = write!(o, "<td>{c}</td>");
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div></section>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, state: &str) -> TickRow {
        TickRow {
            kind: kind.into(),
            started: Some("2026-11-23T10:00:00Z".into()),
            ended: Some("2026-11-23T10:01:00Z".into()),
            exit: Some(if state == "failed" { 1 } else { 0 }),
            errors: Some(if state == "failed" { 2 } else { 0 }),
            state: state.into(),
            every: "5m".into(),
            by_events: (kind == "poll").then(|| (3, "2026-11-23T10:00:30Z".into())),
        }
    }

    #[test]
    fn the_page_banner_names_each_overdue_or_failed_tick_kind() {
        let table: [(&str, Vec<TickRow>, Option<&str>); 4] = [
            (
                "all ok or never run: no banner",
                vec![row("poll", "ok"), row("harvest", "never")],
                None,
            ),
            (
                "overdue: its last start and interval",
                vec![row("poll", "ok"), row("upgrade", "overdue")],
                Some(
                    "TICK HEALTH: upgrade OVERDUE (last started 2026-11-23T10:00:00Z; expected every 5m)",
                ),
            ),
            (
                "failed: its exit and errors",
                vec![row("watch", "failed")],
                Some("TICK HEALTH: watch FAILED (exit 1, 2 errors at 2026-11-23T10:01:00Z)"),
            ),
            (
                "both, in order",
                vec![row("poll", "overdue"), row("watch", "failed")],
                Some(
                    "TICK HEALTH: poll OVERDUE (last started 2026-11-23T10:00:00Z; expected every 5m); watch FAILED (exit 1, 2 errors at 2026-11-23T10:01:00Z)",
                ),
            ),
        ];
        for (rule, rows, want) in table {
            assert_eq!(banner_text(&rows).as_deref(), want, "{rule}");
            assert_eq!(banner(&rows, "t").is_empty(), want.is_none(), "{rule}");
        }
    }

    #[test]
    fn the_tick_health_section_has_one_escaped_row_per_kind() {
        let mut hostile = row("poll", "ok");
        hostile.started = Some("<script>x</script>".into());
        let html = section(&[hostile, row("watch", "failed")], "2026-11-23T10:05:00Z");
        assert_eq!(html.matches("<tr><td>").count(), 2, "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("<td>FAILED</td>") && html.contains("As of 2026-11-23T10:05:00Z"));
        // the ticks webhook events started, per kind
        assert!(html.contains("<th>started by events</th>"), "{html}");
        assert!(
            html.contains("<td>3 (last 2026-11-23T10:00:30Z)</td>"),
            "{html}"
        );
        assert!(
            html.contains("<td>every 5m</td><td>-</td>"),
            "watch: none: {html}"
        );
    }
}
