//! The progress checklist comment
//! (docs/how-it-works.md#afk-watch-the-lifecycle): one per issue, found again
//! by its hidden marker, rendered from what watch knows. Pure text. Strings
//! that came from the forge (link texts, URLs, reasons) are escaped or dropped
//! here, so a PR's workflow cannot write markdown into afk's comment.

use super::sanitize::{md_code, md_text, one_line, safe_url};
use crate::budget::spend::usd;
use crate::types::{TalkKind, TalkSaid};

pub const MARKER: &str = "<!-- afk:checklist -->";

/// A link as the forge gave it: `text` is escaped with `md_text`, and `url`
/// is linked only when `safe_url` accepts it (otherwise the text stands alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub text: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Succeeded,
    Escalated(String),
    Abandoned,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Checklist {
    pub run_id: crate::types::RunId,
    /// agent starts so far
    pub turn: u32,
    /// the corrective turns the config allows: (for red CI or no PR, for reviews)
    pub max_turns: (u32, u32),
    pub pr: Option<Link>,
    pub ci_green: bool,
    /// a build URL from a commit status, linked only when `safe_url`
    pub ci_build: Option<String>,
    pub merged: bool,
    /// None when no deploy context is configured
    pub deployed: Option<bool>,
    /// the agent's latest reported phase and when (agent text: escaped here)
    pub phase: Option<(String, Option<String>)>,
    pub end: Option<End>,
    /// What the run's agents reported spending (None: nothing yet), and
    /// the run's money limit: its own where a trusted `budget` raised it,
    /// else `budget.run_usd` (0: no limit).
    pub spend_usd: Option<f64>,
    pub run_usd: f64,
    /// `budget.run_usd` where a trusted `budget` raised the run's own limit
    /// past it (None: the run's limit is the config's)
    pub raised_from: Option<f64>,
    /// that figure is the model gateway's metered sum
    /// (docs/how-it-works.md#spend)
    pub metered: bool,
    /// The conversation afk acted on (docs/reviews.md), oldest first: reviews
    /// and commands taken (never those ignored), and a hold still on.
    pub talk: Vec<Said>,
    /// who holds the run, since when
    pub held: Option<(String, String)>,
    /// paused at a limit: the limit's key and since when
    pub paused: Option<(String, String)>,
    /// the pause's figure (`$2.20 of $2.00`, `4h`: `core::budget::pause::figure`),
    /// where it is known
    pub paused_at: Option<String>,
    /// one line per past pause and continuation, oldest first
    /// (`core::budget::pause_history::lines`)
    pub past: Vec<String>,
    /// while a `gate` turn runs: the turn the change gate refused
    pub gate_refused: Option<u32>,
}

/// One review or command afk acted on: who, when, what, and what afk did
/// (`taken: review turn 1 of 3`). Forge text: escaped here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub who: String,
    pub at: String,
    /// a review or a command
    pub kind: TalkKind,
    pub what: TalkSaid,
    pub outcome: String,
}

/// How long a command's own text (a `fix` instruction, an unknown verb) may
/// be in the checklist.
const SAID_MAX: usize = 80;

/// What a review or command said, as markdown: afk's words as they are, the
/// person's (a `fix` instruction, an unknown verb) escaped, so afk's own
/// code spans never show as `` \` ``.
fn said_md(kind: TalkKind, what: &TalkSaid) -> String {
    let head = match kind {
        TalkKind::Comment => "command",
        TalkKind::Review => "review",
        TalkKind::Reply => "reply in a thread",
    };
    let what = match what {
        TalkSaid::Fix(text) => format!("fix: {}", md_text(&one_line(text, SAID_MAX))),
        TalkSaid::Budget(args) if args.is_empty() => "budget".into(),
        TalkSaid::Budget(args) => format!("budget: {}", md_text(&one_line(args, SAID_MAX))),
        TalkSaid::Unknown(verb) => format!("unknown verb {}", md_code(&one_line(verb, SAID_MAX))),
        known => known.words(),
    };
    format!("{head}: {what}")
}

fn spend_line(c: &Checklist) -> String {
    let of = match c.raised_from {
        _ if c.run_usd <= 0.0 => String::new(),
        Some(config) => format!(
            " of the run's own {} (raised from budget.run_usd {})",
            usd(c.run_usd),
            usd(config)
        ),
        None => format!(" of budget.run_usd {}", usd(c.run_usd)),
    };
    match c.spend_usd {
        Some(x) if c.metered => format!("- spend: {} (metered){of}\n", usd(x)),
        Some(x) => format!("- spend: {}{of}\n", usd(x)),
        None if c.metered => format!("- spend: none metered yet{of}\n"),
        None => format!("- spend: none reported yet{of}\n"),
    }
}

/// The most agent turns a run takes, the one denominator every TURNS figure
/// uses (the checklist, `afk status` and its page): the first, up to
/// `watch.fix_forward_max` for red CI or no PR, up to
/// `watch.review_turns_max` for reviews.
pub fn turns_at_most(fix_forward_max: u32, review_turns_max: u32) -> u32 {
    1 + fix_forward_max + review_turns_max
}

fn tick(done: bool) -> &'static str {
    if done { "[x]" } else { "[ ]" }
}

pub fn render(c: &Checklist) -> String {
    let mut s = format!("{MARKER}\n**afk** progress for run {}\n\n", c.run_id);
    let (fixes, reviews) = c.max_turns;
    s.push_str(&format!(
        "- [x] dispatched (agent turn {} of at most {}: the first, up to {fixes} for red CI or no PR, up to {reviews} for reviews)\n",
        c.turn,
        turns_at_most(fixes, reviews)
    ));
    s.push_str(&spend_line(c));
    if let Some(k) = c.gate_refused {
        s.push_str(&format!("- gate: refused (turn {k})\n"));
    }
    match &c.pr {
        Some(l) => {
            let text = md_text(&l.text);
            match safe_url(&l.url) {
                Some(u) => s.push_str(&format!("- [x] PR opened: [{text}]({u})\n")),
                None => s.push_str(&format!("- [x] PR opened: {text}\n")),
            }
        }
        None => s.push_str("- [ ] PR opened\n"),
    }
    let build = c
        .ci_build
        .as_deref()
        .and_then(safe_url)
        .map(|u| format!(" ([build]({u}))"))
        .unwrap_or_default();
    s.push_str(&format!("- {} CI green{build}\n", tick(c.ci_green)));
    s.push_str(&format!("- {} merged\n", tick(c.merged)));
    if let Some(d) = c.deployed {
        s.push_str(&format!("- {} deployed\n", tick(d)));
    }
    if let Some((limit, since)) = &c.paused {
        // a day's cap reopens by itself at midnight
        let how = match crate::budget::Limit::parse(limit).is_some_and(|l| l.is_day()) {
            true => "it continues by itself at 00:00 UTC",
            false => "a trusted `budget` or `resume` command continues it",
        };
        // afk's own key (`run_usd`, `run_time`), in a code span as it is
        let key: String = limit
            .chars()
            .filter(|c| c.is_ascii_lowercase() || *c == '_')
            .take(40)
            .collect();
        // with its figure where known (`paused at
        // $2.20 of $2.00 (run_usd) since …`), afk's own numbers as the
        // spend line's are
        let at = match &c.paused_at {
            Some(f) => format!("{f} (`budget.{key}`)"),
            None => format!("`budget.{key}`"),
        };
        s.push_str(&format!(
            "- **paused** at {at} since {}: {how}\n",
            md_text(since)
        ));
    }
    // afk's own words, their people's and stamps escaped by `lines`
    for line in &c.past {
        s.push_str(&format!("- {line}\n"));
    }
    if !c.talk.is_empty() || c.held.is_some() {
        s.push_str("\nOn the PR and the issue:\n");
        for t in &c.talk {
            s.push_str(&format!(
                "- {} (by {}, at {}): {}\n",
                said_md(t.kind, &t.what),
                md_text(&one_line(&t.who, 60)),
                md_text(&t.at),
                md_text(&t.outcome)
            ));
        }
        if let Some((who, since)) = &c.held {
            s.push_str(&format!(
                "- **held** by {} since {}: no corrective turn until `resume`\n",
                md_text(&one_line(who, 60)),
                md_text(since)
            ));
        }
    }
    if let Some((name, at)) = &c.phase {
        let at = at
            .as_deref()
            .map(|t| format!(" (at {})", md_text(t)))
            .unwrap_or_default();
        s.push_str(&format!("\nLatest agent phase: {}{at}\n", md_text(name)));
    }
    s.push('\n');
    s.push_str(match &c.end {
        None => "Status: in progress.",
        // merged: whether the issue closed too is the forge's or the
        // tracker's to show (one may refuse afk, docs/trackers.md)
        Some(End::Succeeded) => "Status: **done**: merged.",
        Some(End::Escalated(_)) => "Status: **needs a human**",
        Some(End::Abandoned) => "Status: stopped: the issue was closed or unlabelled by a person.",
    });
    if let Some(End::Escalated(r)) = &c.end {
        // one line, and no backtick to end the code span early
        let r = one_line(r, 100).replace('`', "'");
        s.push_str(&format!(" (reason: `{r}`)."));
    }
    s.push('\n');
    // bounded by construction (every outside string is cut above); kept
    // within the forge's limit whatever is added to it later
    super::bounds::fit(&s, super::bounds::COMMENT_BUDGET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_at_most_counts_the_first_the_fixes_and_the_reviews() {
        let cases = [((0, 0), 1), ((3, 0), 4), ((3, 2), 6), ((2, 1), 4)];
        for ((fixes, reviews), want) in cases {
            assert_eq!(turns_at_most(fixes, reviews), want, "{fixes} {reviews}");
            let c = Checklist {
                turn: 4,
                max_turns: (fixes, reviews),
                ..base()
            };
            assert!(
                render(&c).contains(&format!("agent turn 4 of at most {want}:")),
                "{}",
                render(&c)
            );
        }
    }

    #[test]
    fn the_checklist_shows_reviews_commands_and_holds_escaped() {
        let mut c = base();
        c.talk = vec![Said {
            who: "alice".into(),
            at: "2026-01-01T10:00:00Z".into(),
            kind: TalkKind::Review,
            what: TalkSaid::ChangesRequested,
            outcome: "taken: review turn 1 of 3".into(),
        }];
        c.held = Some(("bob*".into(), "2026-01-01T11:00:00Z".into()));
        let t = render(&c);
        assert!(
            t.contains(
                "- review: changes requested (by alice, at 2026-01-01T10:00:00Z): taken: review turn 1 of 3"
            ),
            "{t}"
        );
        assert!(t.contains("**held** by bob\\* since"), "{t}");
        assert!(!render(&base()).contains("On the PR"));
    }

    #[test]
    fn a_paused_run_says_where_it_stopped_and_how_it_continues() {
        let mut c = base();
        assert!(!render(&c).contains("paused"));
        c.paused = Some(("run_usd".into(), "2026-01-01T11:00:00Z".into()));
        let t = render(&c);
        assert!(
            t.contains("- **paused** at `budget.run_usd` since 2026-01-01T11:00:00Z: a trusted `budget` or `resume` command continues it\n"),
            "{t}"
        );
        // with its figure
        c.paused_at = Some("$2.20 of $2.00".into());
        let t = render(&c);
        assert!(
            t.contains("- **paused** at $2.20 of $2.00 (`budget.run_usd`) since 2026-01-01T11:00:00Z: a trusted `budget` or `resume` command continues it\n"),
            "{t}"
        );
        c.paused_at = None;
        // a day's cap: nobody's command, midnight continues it
        c.paused = Some(("day_usd".into(), "2026-01-01T11:00:00Z".into()));
        let t = render(&c);
        assert!(
            t.contains("- **paused** at `budget.day_usd` since 2026-01-01T11:00:00Z: it continues by itself at 00:00 UTC\n"),
            "{t}"
        );
        // past pauses and continuations keep a line each, after it ends too
        c.paused = None;
        c.past = vec![
            "paused at $2.20 of $2.00 (budget.run_usd) since T1".into(),
            "continued by alice: budget $2.00 → $7.00".into(),
        ];
        let t = render(&c);
        assert!(
            t.contains("- paused at $2.20 of $2.00 (budget.run_usd) since T1\n- continued by alice: budget $2.00 → $7.00\n"),
            "{t}"
        );
    }

    fn base() -> Checklist {
        Checklist {
            run_id: crate::types::RunId(4),
            turn: 1,
            max_turns: (2, 1),
            pr: None,
            ci_green: false,
            ci_build: None,
            merged: false,
            deployed: None,
            phase: None,
            end: None,
            spend_usd: None,
            run_usd: 0.0,
            raised_from: None,
            metered: false,
            talk: vec![],
            held: None,
            paused: None,
            paused_at: None,
            past: vec![],
            gate_refused: None,
        }
    }

    #[test]
    fn a_gate_turn_shows_the_turn_the_gate_refused() {
        let cases = [(None, None), (Some(1), Some("- gate: refused (turn 1)\n"))];
        for (refused, line) in cases {
            let t = render(&Checklist {
                gate_refused: refused,
                turn: 2,
                ..base()
            });
            match line {
                Some(l) => assert!(t.contains(l), "{t}"),
                None => assert!(!t.contains("gate:"), "{t}"),
            }
        }
    }

    #[test]
    fn what_was_said_shows_afks_words_as_they_are_and_escapes_the_persons() {
        let cases = [
            (
                TalkKind::Review,
                TalkSaid::ChangesRequested,
                "review: changes requested",
            ),
            (TalkKind::Comment, TalkSaid::Hold, "command: hold"),
            (
                TalkKind::Comment,
                TalkSaid::Unknown("frobnicate".into()),
                "command: unknown verb `frobnicate`",
            ),
            (
                TalkKind::Comment,
                TalkSaid::Unknown("a`b".into()),
                "command: unknown verb ``a`b``",
            ),
            (
                TalkKind::Comment,
                TalkSaid::Fix("use *the* [new](x) API @team".into()),
                r"command: fix: use \*the\* \[new\]\(x\) API \@team",
            ),
        ];
        for (kind, what, want) in cases {
            assert_eq!(said_md(kind, &what), want, "{what:?}");
            let mut c = base();
            c.talk = vec![Said {
                who: "bob".into(),
                at: "2026-01-01T10:00:00Z".into(),
                kind,
                what,
                outcome: "answered: unknown verb".into(),
            }];
            assert!(
                render(&c).contains(&format!("- {want} (by bob")),
                "{}",
                render(&c)
            );
        }
        let long = said_md(TalkKind::Comment, &TalkSaid::Fix("x".repeat(10_000)));
        assert!(long.chars().count() < 100, "{long}");
    }

    #[test]
    fn a_checklist_of_the_longest_outside_text_stays_small() {
        let long = "é".repeat(100_000);
        let url = format!(
            "https://ci.invalid/{}",
            "x".repeat(crate::sanitize::URL_MAX - 30)
        );
        let mut c = base();
        c.pr = Some(Link {
            text: long.clone(),
            url: url.clone(),
        });
        c.ci_build = Some(url);
        c.phase = Some((long.clone(), Some(long.clone())));
        c.end = Some(End::Escalated(long));
        let t = render(&c);
        assert!(t.len() < 8_000, "{} bytes", t.len());
        assert!(t.starts_with(MARKER));
    }

    #[test]
    fn the_latest_agent_phase_is_shown_escaped() {
        let mut c = base();
        assert!(!render(&c).contains("phase"));
        c.phase = Some(("green".into(), Some("2026-01-01T12:00:00Z".into())));
        assert!(render(&c).contains("Latest agent phase: green (at 2026-01-01T12:00:00Z)\n"));
        c.phase = Some(("*bold* [x](http://e.vil)".into(), None));
        let t = render(&c);
        assert!(
            t.contains("Latest agent phase: \\*bold\\* \\[x\\]\\(http://e.vil\\)\n"),
            "{t}"
        );
    }

    #[test]
    fn fresh_run() {
        let t = render(&base());
        assert!(t.starts_with(MARKER));
        assert!(t.contains("- [x] dispatched (agent turn 1 of at most 4: the first, up to 2 for red CI or no PR, up to 1 for reviews)"), "{t}");
        assert!(t.contains("- [ ] PR opened\n"));
        assert!(t.contains("- [ ] CI green\n"));
        assert!(!t.contains("deployed"));
        assert!(t.contains("Status: in progress."));
    }

    #[test]
    fn the_spend_is_shown_against_its_limit_and_unknown_says_so() {
        let cases = [
            (None, 0.0, "- spend: none reported yet\n"),
            (
                None,
                5.0,
                "- spend: none reported yet of budget.run_usd $5.00\n",
            ),
            (Some(1.25), 0.0, "- spend: $1.25\n"),
            (Some(1.25), 5.0, "- spend: $1.25 of budget.run_usd $5.00\n"),
        ];
        for (spend_usd, run_usd, want) in cases {
            let t = render(&Checklist {
                spend_usd,
                run_usd,
                ..base()
            });
            assert!(t.contains(want), "{t}");
        }
        // a trusted raise: the run's own limit, and the config's it left
        let t = render(&Checklist {
            spend_usd: Some(1.6),
            run_usd: 6.0,
            raised_from: Some(1.0),
            ..base()
        });
        assert!(
            t.contains(
                "- spend: $1.60 of the run's own $6.00 (raised from budget.run_usd $1.00)\n"
            ),
            "{t}"
        );
        let t = render(&Checklist {
            spend_usd: Some(1.44),
            run_usd: 5.0,
            metered: true,
            ..base()
        });
        assert!(
            t.contains("- spend: $1.44 (metered) of budget.run_usd $5.00\n"),
            "{t}"
        );
        // metered, nothing yet: the gateway's none, not an agent's report
        let t = render(&Checklist {
            spend_usd: None,
            run_usd: 5.0,
            metered: true,
            ..base()
        });
        assert!(
            t.contains("- spend: none metered yet of budget.run_usd $5.00\n"),
            "{t}"
        );
    }

    #[test]
    fn links_and_ticks() {
        let mut c = base();
        c.pr = Some(Link {
            text: "#5".into(),
            url: "http://f/a/b/pulls/5".into(),
        });
        c.ci_green = true;
        c.ci_build = Some("http://ci/1".into());
        c.merged = true;
        c.deployed = Some(false);
        let t = render(&c);
        assert!(t.contains("- [x] PR opened: [#5](http://f/a/b/pulls/5)"));
        assert!(t.contains("- [x] CI green ([build](http://ci/1))"));
        assert!(t.contains("- [x] merged"));
        assert!(t.contains("- [ ] deployed"));
    }

    #[test]
    fn end_states_are_rendered() {
        let mut c = base();
        c.end = Some(End::Escalated("ci-red".into()));
        assert!(render(&c).contains("needs a human** (reason: `ci-red`)."));
        c.end = Some(End::Succeeded);
        assert!(render(&c).contains("Status: **done**: merged.\n"));
        c.end = Some(End::Abandoned);
        assert!(render(&c).contains("stopped"));
    }

    #[test]
    fn same_input_same_text() {
        assert_eq!(render(&base()), render(&base()));
    }

    #[test]
    fn forge_urls_that_break_markdown_are_not_linked() {
        let cases = [
            "http://ci.invalid/1) [click me](http://evil.invalid",
            "javascript:alert(1)",
            "http://ci.invalid/1\n## New section",
            "http://ci.invalid/\"onmouseover",
        ];
        for url in cases {
            let mut c = base();
            c.ci_green = true;
            c.ci_build = Some(url.into());
            c.pr = Some(Link {
                text: "#5".into(),
                url: url.into(),
            });
            let t = render(&c);
            assert!(t.contains("- [x] CI green\n"), "case {url:?}:\n{t}");
            assert!(t.contains("- [x] PR opened: #5\n"), "case {url:?}:\n{t}");
            for bad in ["evil", "javascript", "New section", "onmouseover"] {
                assert!(!t.contains(bad), "case {url:?}:\n{t}");
            }
        }
    }

    #[test]
    fn forge_text_is_escaped() {
        let mut c = base();
        c.pr = Some(Link {
            text: "x](http://evil.invalid) <img src=y>\n## New".into(),
            url: "http://f/a/b/pulls/5".into(),
        });
        let t = render(&c);
        assert!(
            t.contains(
                r"- [x] PR opened: [x\]\(http://evil.invalid\) \<img src=y\> ## New](http://f/a/b/pulls/5)"
            ),
            "{t}"
        );
    }

    #[test]
    fn an_escalation_reason_stays_one_code_span() {
        let mut c = base();
        c.end = Some(End::Escalated("ci`red\n## New".into()));
        let t = render(&c);
        assert!(t.contains("(reason: `ci'red ## New`)."), "{t}");
    }
}
