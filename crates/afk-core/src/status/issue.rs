//! The status issue (`status_issue`, docs/configuration.md): one forge issue
//! whose body afk keeps as the Markdown twin of the status page, where the team
//! already looks. Pure: the same [`Page`] the HTML page is rendered from, plus
//! what only the issue shows (tick health without its moments, the armed issues
//! the last poll skipped), in; the body out; [`needs_edit`] says whether a
//! tick edits the issue, from afk's own record of what it last wrote there
//! (no read of the issue: on a forge without ETags a read is a full GET).
//!
//! The body shows the state's own moments (when a run was dispatched, an
//! escalation raised, a canary started), never an age or the clock, so a tick
//! that changed nothing renders the same text and afk edits nothing.
//!
//! Safe as the page is: every string from a forge, an agent or a registry is
//! one line of escaped Markdown (`sanitize::md_text_cut`: no link, image,
//! HTML, mention or table cell of its own), every link is built by
//! [`Links`] from the configured forge URL, a valid `owner/repo` and a number.
//! The body is bounded under GitHub's limit (65,536 characters): each table
//! lists at most [`ROWS_MAX`] rows and says how many more, and a body still
//! too long is cut at a line's end with the cut said (`bounds::fit_saying`).
use crate::types::Invalid;

use crate::bounds::{COMMENT_BUDGET, fit_saying, more};
use crate::budget::spend::usd;
use crate::sanitize::md_text_cut;
use crate::status::page::{Links, Page, RunRow};
use crate::types::{IssueNumber, RepoName};
use std::fmt::Write as _;

/// `owner/repo#N`: the issue afk keeps (`status_issue`), parsed once at
/// config load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRef {
    pub repo: RepoName,
    pub number: IssueNumber,
}

impl IssueRef {
    /// `owner/repo#N` (or a GitLab project's `group/.../project#N`) with a
    /// valid repo and a number of at least 1.
    pub fn parse(s: &str) -> Result<IssueRef, Invalid> {
        let bad = || format!("\"{s}\" is not \"owner/repo#N\"");
        let (repo, n) = s.trim().rsplit_once('#').ok_or_else(bad)?;
        let repo = RepoName::parse_any(repo).map_err(|_| bad())?;
        let number = match n.parse::<u64>() {
            Ok(v) if v > 0 && n.bytes().all(|b| b.is_ascii_digit()) => IssueNumber(v),
            _ => return Err(Invalid(bad())),
        };
        Ok(IssueRef { repo, number })
    }
}

impl std::fmt::Display for IssueRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.repo, self.number)
    }
}

/// One tick kind's health as the issue shows it: its state, last exit and
/// error count, without its start and end (which move every tick).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickRow {
    pub kind: String,
    /// `ok`, `failed`, `overdue` or `never` (`tick_deadline::health`)
    pub state: String,
    pub exit: Option<i64>,
    pub errors: Option<i64>,
}

/// An armed issue the last poll tick skipped, and why (its report's words).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkipRow {
    pub repo: String,
    pub issue: IssueNumber,
    pub reason: String,
}

/// What the issue shows beyond the page.
#[derive(Debug, Clone, Copy)]
pub struct Twin<'a> {
    pub page: &'a Page,
    pub ticks: &'a [TickRow],
    /// None: no poll tick recorded its skips yet
    pub skipped: Option<&'a [SkipRow]>,
}

/// The first line of every body afk writes: says whose the issue is.
pub const MARKER: &str = "<!-- afk:status-issue (rewritten by afk when its state changes; edits here are overwritten) -->";
/// The most rows one table lists; the rest are counted.
pub(crate) const ROWS_MAX: usize = 100;
/// The most characters of one cell from outside (a reason, a phase).
pub(crate) const CELL_MAX: usize = 300;
/// The most questions of one escalation the issue quotes.
pub(crate) const QUESTIONS_SHOWN: usize = 3;
/// The most a body grows to, in bytes (so under 65,536 characters however
/// a forge counts): `bounds::COMMENT_BUDGET`.
pub(crate) const BODY_MAX: usize = COMMENT_BUDGET;

/// The whole body.
pub fn render(t: &Twin) -> String {
    let p = t.page;
    let links = Links::new(&p.forge_url, &p.pr_segment)
        .sigil(&p.pr_sigil)
        .web(p.web);
    let mut o = format!(
        "{MARKER}\n# afk status\n\n_The Markdown twin of afk's status page, from afk's state file. \
         afk rewrites this text when its state changes; edits here are overwritten._\n\n"
    );
    o.push_str(&switches(p));
    o.push_str(&in_flight(&p.in_flight, &links));
    o.push_str(&escalations(p, &links));
    o.push_str(&skipped(t.skipped, &links));
    o.push_str(&canaries(p));
    o.push_str(&upgrades(p, &links));
    o.push_str(&frozen(p, &links));
    o.push_str(&ticks(t.ticks));
    o.push_str(&journal(p));
    fit_saying(
        &o,
        BODY_MAX,
        "afk cut the status here, under the forge's limit on an issue's body; the status page shows all",
    )
}

/// The journal's head as the last run ended (docs/audit.md): a copy on the
/// forge, whose edit history the host cannot rewrite, for `afk audit verify
/// --head`. It changes only when a run ends.
fn journal(p: &Page) -> String {
    match &p.audit_run_end {
        Some((n, hash)) => format!(
            "\n**Journal** at the last run's end: `{n}:{hash}` (check: `afk audit verify --head {n}:{hash}`).\n"
        ),
        None => String::new(),
    }
}

/// Whether a tick edits the status issue: unless the body it would write
/// (`wanted`) is the one afk last wrote to that very issue (`last`, the
/// state file's record). An idle tick then costs no request at all, on any
/// forge; a person's edit of the body stays until afk's text next changes,
/// and is replaced then (afk never reads the body back).
pub fn needs_edit(last: Option<Written>, wanted: Written) -> bool {
    last != Some(wanted)
}

/// A body afk wrote to a status issue, as the state file records it after
/// the edit: which issue (on which forge), and the body's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written<'a> {
    /// `<forge.url>/<owner/repo#N>`: another issue, or the same name on
    /// another forge, is another issue
    pub issue: &'a str,
    pub digest: &'a str,
}

/// Outside text for a cell: one escaped line, cut with the cut said; `-`
/// when empty.
fn cell(s: &str) -> String {
    match s.trim() {
        "" => "-".into(),
        s => md_text_cut(s, CELL_MAX),
    }
}

/// `[owner/repo#N](link)`, or the text alone when there is no link.
fn md_link(href: Option<String>, text: &str) -> String {
    let text = md_text_cut(text, CELL_MAX);
    match href {
        Some(h) => format!("[{text}]({h})"),
        None => text,
    }
}

/// A table of at most `ROWS_MAX` rows, then how many more there are.
fn table(head: &[&str], rows: &[Vec<String>], one: &str, many: &str) -> String {
    let mut o = format!("| {} |\n|{}\n", head.join(" | "), "---|".repeat(head.len()));
    for r in rows.iter().take(ROWS_MAX) {
        let _ = writeln!(o, "| {} |", r.join(" | "));
    }
    if rows.len() > ROWS_MAX {
        let _ = writeln!(o, "\n{}", more(rows.len() - ROWS_MAX, one, many));
    }
    o.push('\n');
    o
}

fn switches(p: &Page) -> String {
    let stop = if p.stop_present {
        "**STOP FILE PRESENT**: every tick does nothing until it is removed."
    } else {
        "Stop file absent: ticks run."
    };
    let poll = if p.poll_enabled {
        "`poll.enabled = true`: new issues are dispatched."
    } else {
        "**KILL SWITCH OFF** (`poll.enabled = false`): nothing new is dispatched."
    };
    format!("{stop} {poll}\n\n")
}

fn in_flight(runs: &[RunRow], l: &Links) -> String {
    let mut o = format!("## In flight ({})\n\n", runs.len());
    if runs.is_empty() {
        o.push_str("None.\n\n");
        return o;
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                md_link(r.issue_link(l), &r.issue_name()),
                r.id.to_string(),
                // a paused run's State is its pause with its figures
                cell(r.paused.as_deref().unwrap_or(&r.state)),
                cell(&r.since),
                cell(&r.phase),
                r.pr.map_or("-".into(), |n| md_link(l.pr(&r.repo, n), &l.pr_text(n))),
                match (&r.green_since, r.pr) {
                    (Some(g), _) => format!("green since {}", cell(g)),
                    (None, Some(_)) => "not green yet".into(),
                    (None, None) => "-".into(),
                },
                cell(&r.turns),
                r.spend_usd.map_or("-".into(), usd),
            ]
        })
        .collect();
    o.push_str(&table(
        &[
            "Issue", "Run", "State", "Since", "Phase", "PR", "CI", "Turns", "Spend",
        ],
        &rows,
        "run",
        "runs",
    ));
    o
}

fn escalations(p: &Page, l: &Links) -> String {
    let mut o = format!("## Open escalations ({})\n\n", p.escalations_total);
    if p.escalations.is_empty() {
        o.push_str("None.\n\n");
        return o;
    }
    let rows: Vec<Vec<String>> = p
        .escalations
        .iter()
        .map(|e| {
            let mut asked: Vec<String> = e
                .questions
                .iter()
                .take(QUESTIONS_SHOWN)
                .map(|q| cell(q))
                .collect();
            if e.questions.len() > QUESTIONS_SHOWN {
                asked.push(more(
                    e.questions.len() - QUESTIONS_SHOWN,
                    "question",
                    "questions",
                ));
            }
            vec![
                md_link(
                    l.issue(&e.repo, e.issue),
                    &format!("{}#{}", e.repo, e.issue),
                ),
                e.run_id.to_string(),
                cell(&e.since),
                cell(&e.reason),
                if asked.is_empty() {
                    "-".into()
                } else {
                    asked.join("<br>")
                },
            ]
        })
        .collect();
    o.push_str(&table(
        &["Issue", "Run", "Since", "Reason", "Questions"],
        &rows,
        "escalation",
        "escalations",
    ));
    if p.escalations_total > p.escalations.len() {
        let _ = writeln!(
            o,
            "{}\n",
            more(
                p.escalations_total - p.escalations.len(),
                "escalation (the status page lists it)",
                "escalations (the status page lists them)"
            )
        );
    }
    o
}

fn skipped(skips: Option<&[SkipRow]>, l: &Links) -> String {
    let Some(skips) = skips else {
        return "## Armed issues skipped\n\nNo poll tick has recorded its skips yet.\n\n".into();
    };
    let mut o = format!(
        "## Armed issues skipped by the last poll ({})\n\n",
        skips.len()
    );
    if skips.is_empty() {
        o.push_str("None.\n\n");
        return o;
    }
    let rows: Vec<Vec<String>> = skips
        .iter()
        .map(|s| {
            vec![
                md_link(
                    l.issue(&s.repo, s.issue),
                    &format!("{}#{}", s.repo, s.issue),
                ),
                cell(&s.reason),
            ]
        })
        .collect();
    o.push_str(&table(&["Issue", "Why"], &rows, "issue", "issues"));
    o
}

fn canaries(p: &Page) -> String {
    let mut o = String::from("## Templates and canaries\n\n");
    if p.templates.is_empty() {
        o.push_str("No template versions.\n\n");
        return o;
    }
    let tally = |xs: &[(i64, bool)]| format!("{}/{}", xs.iter().filter(|x| x.1).count(), xs.len());
    let rows: Vec<Vec<String>> = p
        .templates
        .iter()
        .map(|t| {
            let last = t.trail.last().map_or("-".into(), |d| {
                format!("v{} {} ({})", d.version, cell(&d.decision), cell(&d.at))
            });
            match &t.canary {
                Some(c) => vec![
                    cell(&t.name),
                    t.current.map_or("none".into(), |v| format!("v{v}")),
                    format!(
                        "v{}{}",
                        c.version,
                        if c.live { " (live)" } else { " (decided)" }
                    ),
                    cell(&c.since),
                    tally(&c.canary),
                    tally(&c.control),
                    format!("{:.1}%", c.p_worse * 100.0),
                    c.next_checkpoint
                        .map_or("none left".into(), |n| n.to_string()),
                    last,
                ],
                None => {
                    let mut r = vec![
                        cell(&t.name),
                        t.current.map_or("none".into(), |v| format!("v{v}")),
                    ];
                    r.extend(std::iter::repeat_n("-".to_string(), 6));
                    r.push(last);
                    r
                }
            }
        })
        .collect();
    o.push_str(&table(
        &[
            "Template",
            "Current",
            "Canary",
            "Since",
            "Canary ok",
            "Control ok",
            "P(worse)",
            "Next checkpoint",
            "Last decision",
        ],
        &rows,
        "template",
        "templates",
    ));
    o
}

fn upgrades(p: &Page, l: &Links) -> String {
    let mut o = format!("## Upgrade flows ({})\n\n", p.upgrades.len());
    if p.upgrades.is_empty() {
        o.push_str("None.\n\n");
        return o;
    }
    let rows: Vec<Vec<String>> = p
        .upgrades
        .iter()
        .map(|u| {
            vec![
                cell(&u.recipe),
                md_link(l.pr(&u.mirror, u.pr), &format!("{}#{}", u.mirror, u.pr)),
                cell(&u.bump),
                cell(&u.step),
                u.queue_place.map_or("-".into(), |n| n.to_string()),
                cell(u.step_since.as_deref().unwrap_or("")),
                cell(&u.result),
            ]
        })
        .collect();
    o.push_str(&table(
        &["Recipe", "PR", "Bump", "Step", "Queue", "Since", "Result"],
        &rows,
        "flow",
        "flows",
    ));
    o
}

fn frozen(p: &Page, l: &Links) -> String {
    if p.frozen.is_empty() {
        return String::new();
    }
    let mut o = format!("## Frozen repos ({})\n\n", p.frozen.len());
    let rows: Vec<Vec<String>> = p
        .frozen
        .iter()
        .map(|f| {
            vec![
                md_link(l.repo(&f.repo), &f.repo),
                cell(&f.reason),
                cell(&f.since),
            ]
        })
        .collect();
    o.push_str(&table(&["Repo", "Why", "Since"], &rows, "repo", "repos"));
    o
}

fn ticks(rows: &[TickRow]) -> String {
    let mut o = String::from("## Tick health\n\n");
    if rows.is_empty() {
        o.push_str("No tick recorded.\n\n");
        return o;
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|t| {
            vec![
                cell(&t.kind),
                match t.state.as_str() {
                    "ok" => "OK".to_string(),
                    s => format!("**{}**", cell(&s.to_uppercase())),
                },
                t.exit.map_or("-".into(), |e| e.to_string()),
                t.errors.map_or("-".into(), |e| e.to_string()),
            ]
        })
        .collect();
    o.push_str(&table(
        &["Tick", "State", "Last exit", "Errors"],
        &rows,
        "tick",
        "ticks",
    ));
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::page::{CanaryView, EscalationRow, TemplateRow, UpgradeRow};
    use crate::types::RunId;

    fn run(n: u64) -> RunRow {
        RunRow {
            id: RunId(n as i64),
            repo: "acme/api".into(),
            issue: IssueNumber(n),
            state: "running".into(),
            age: "3m".into(),
            since: "2026-01-01T00:00:00Z".into(),
            turns: "1/3".into(),
            ..RunRow::default()
        }
    }

    #[test]
    fn a_paused_runs_state_cell_is_its_pause_with_its_figures() {
        let mut p = page();
        let paused = "paused at $2.20 of $2.00 (run_usd) since 2026-11-27T14:03:00Z, until 2026-12-04T14:03:00Z";
        assert!(!body(&p).contains("paused at"));
        p.in_flight[0].paused = Some(paused.into());
        let b = body(&p);
        assert!(b.contains(&md_text_cut(paused, CELL_MAX)), "{b}");
        assert!(!b.contains("| running |"), "{b}");
        // moments only: the same pause writes the same text
        assert_eq!(body(&p), b);
    }

    fn page() -> Page {
        Page {
            forge_url: "https://git.example.org".into(),
            poll_enabled: true,
            in_flight: vec![run(7)],
            ..Page::default()
        }
    }

    fn body(p: &Page) -> String {
        render(&Twin {
            page: p,
            ticks: &[],
            skipped: Some(&[]),
        })
    }

    #[test]
    fn status_issue_key_is_owner_repo_hash_number() {
        let cases: &[(&str, Option<(&str, u64)>)] = &[
            ("acme/ops#12", Some(("acme/ops", 12))),
            (" acme/ops#1 ", Some(("acme/ops", 1))),
            ("acme/ops#0", None),
            ("acme/ops#", None),
            ("acme/ops#-3", None),
            ("acme/ops#+3", None),
            ("acme/ops#1x", None),
            ("acme/ops", None),
            ("acme#3", None),
            ("acme/../x#3", None),
            // a GitLab project's nested path (the forge's kind is checked later)
            ("group/sub/ops#3", Some(("group/sub/ops", 3))),
        ];
        for (text, want) in cases {
            let got = IssueRef::parse(text).ok();
            let got = got.as_ref().map(|r| (r.repo.as_str(), r.number.0));
            assert_eq!(got, *want, "{text}");
        }
        assert_eq!(
            IssueRef::parse("acme/ops#12").unwrap().to_string(),
            "acme/ops#12"
        );
    }

    #[test]
    fn the_body_shows_the_states_moments_not_ages_so_it_is_stable() {
        let p = page();
        let b = body(&p);
        assert!(b.starts_with(MARKER), "{b}");
        assert!(b.contains("2026-01-01T00:00:00Z"), "{b}");
        assert!(!b.contains("3m"), "an age is the clock's: {b}");
        let mut later = p.clone();
        later.generated_at = "2026-01-02T00:00:00Z".into();
        later.in_flight[0].age = "1d".into();
        assert_eq!(body(&later), b, "only the clock moved: the same text");
        later.in_flight[0].phase = "testing".into();
        assert_ne!(body(&later), b, "the state moved: another text");
    }

    #[test]
    fn outside_text_is_one_escaped_line_and_links_only_go_to_the_forge() {
        let mut p = page();
        p.in_flight[0].phase = "x | y\n# head @alice [a](https://evil) <img src=x>".into();
        p.escalations = vec![EscalationRow {
            run_id: RunId(1),
            repo: "acme/api".into(),
            issue: IssueNumber(3),
            since: "2026-01-01T00:00:00Z".into(),
            reason: "blocked".into(),
            questions: (0..5).map(|i| format!("q{i}?")).collect(),
        }];
        p.escalations_total = 1;
        let b = body(&p);
        assert!(
            b.contains("x \\| y # head \\@alice \\[a\\]\\(https://evil\\) \\<img src=x\\>"),
            "{b}"
        );
        assert!(!b.contains("](https://evil"), "{b}");
        assert!(
            b.contains("[acme/api#3](https://git.example.org/acme/api/issues/3)"),
            "{b}"
        );
        assert!(b.contains("q2?<br>… and 2 more questions"), "{b}");
        assert!(!b.contains("q3?"), "{b}");
    }

    #[test]
    fn a_huge_state_is_bounded_under_the_forges_limit_and_says_where_it_was_cut() {
        let mut p = page();
        p.in_flight = (1..=500).map(run).collect();
        p.upgrades = (0..200)
            .map(|i| UpgradeRow {
                recipe: "r".repeat(400),
                mirror: "acme/api".into(),
                pr: crate::types::PrNumber(i),
                result: "x".repeat(2_000),
                ..UpgradeRow::default()
            })
            .collect();
        p.templates = (0..200)
            .map(|i| TemplateRow {
                name: format!("t{i}{}", "n".repeat(500)),
                canary: Some(CanaryView::default()),
                ..TemplateRow::default()
            })
            .collect();
        let skips: Vec<SkipRow> = (0..300)
            .map(|i| SkipRow {
                repo: "acme/api".into(),
                issue: IssueNumber(i),
                reason: "é".repeat(1_000),
            })
            .collect();
        let b = render(&Twin {
            page: &p,
            ticks: &[],
            skipped: Some(&skips),
        });
        assert!(b.len() <= BODY_MAX, "{}", b.len());
        assert!(b.chars().count() < 65_536);
        assert!(
            b.contains("… and 400 more runs"),
            "rows past ROWS_MAX are counted"
        );
        assert!(b.contains("afk cut the status here"), "the cut is said");
        assert!(b.contains("more characters are not shown"));
    }

    #[test]
    fn tick_health_shows_state_exit_and_errors_without_moments() {
        let p = page();
        let ticks = [
            TickRow {
                kind: "poll".into(),
                state: "ok".into(),
                exit: Some(0),
                errors: Some(0),
            },
            TickRow {
                kind: "watch".into(),
                state: "failed".into(),
                exit: Some(1),
                errors: Some(2),
            },
        ];
        let b = render(&Twin {
            page: &p,
            ticks: &ticks,
            skipped: None,
        });
        assert!(b.contains("| poll | OK | 0 | 0 |"), "{b}");
        assert!(b.contains("| watch | **FAILED** | 1 | 2 |"), "{b}");
        assert!(
            b.contains("No poll tick has recorded its skips yet."),
            "{b}"
        );
    }

    #[test]
    fn the_issue_is_edited_only_when_afk_s_text_differs_from_what_it_last_wrote_there() {
        let w = |issue, digest| Written { issue, digest };
        const HERE: &str = "https://git.example.org/acme/ops#5";
        let cases: &[(Option<Written>, Written, bool, &str)] = &[
            (None, w(HERE, "d1"), true, "nothing written yet"),
            (Some(w(HERE, "d1")), w(HERE, "d1"), false, "the same text"),
            (
                Some(w(HERE, "d1")),
                w(HERE, "d2"),
                true,
                "afk's text changed",
            ),
            (
                Some(w("https://git.example.org/acme/ops#4", "d1")),
                w(HERE, "d1"),
                true,
                "another issue",
            ),
            (
                Some(w("https://other.example.org/acme/ops#5", "d1")),
                w(HERE, "d1"),
                true,
                "the same name on another forge",
            ),
        ];
        for (last, wanted, want, why) in cases {
            assert_eq!(needs_edit(*last, *wanted), *want, "{why}");
        }
    }
}
