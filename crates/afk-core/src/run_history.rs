//! What `afk runs` and `afk runs show` say of a run, decided from what the
//! state file and the run folder hold: how long it took and how that is
//! written, what it spent by whose word, its row of the listing, which of
//! its folder's files are listed, whether its log is rendered, and its
//! timeline in order. The command (`commands/runs/`) reads the store and the
//! folder and prints; every choice is here.

use crate::budget::spend::usd;
use crate::gateway::prices::micro;
use crate::kinds::EventKind;
use crate::run_spend::RunSpend;
use crate::run_state::RunStatus;
use crate::types::{AgentKind, IssueNumber, PrNumber, RepoName, RunId};
use serde::Serialize;
use time::OffsetDateTime;

/// Seconds from a run's dispatch to its end, or to `now` while it is in
/// flight; a time that cannot be read counts as `now`, and it is never
/// negative.
pub fn duration_s(created_at: &str, ended_at: Option<&str>, now: OffsetDateTime) -> i64 {
    let parse = crate::types::stamp::parse;
    let start = parse(created_at).unwrap_or(now);
    let end = ended_at.and_then(parse).unwrap_or(now);
    (end - start).whole_seconds().max(0)
}

/// A duration as the listing writes it: its two largest units.
pub fn human_duration(s: i64) -> String {
    match s {
        s if s >= 86_400 => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m{}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// The agent's own figure of a run: its ledger's when a metered record
/// made the run's figure another one; else the run's figure, which is it.
pub fn reported_usd(spent: &RunSpend, spend_usd: Option<f64>) -> Option<f64> {
    match spent.metered {
        Some(_) => spent.reported(),
        None => spend_usd,
    }
}

/// What the model gateway metered for a run (`afk runs show --json`'s
/// `metered`): its requests, their tokens, how many were priced at the
/// table's highest (a model with no price) and the record's lines skipped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metered {
    pub usd: f64,
    pub requests: u64,
    pub tokens: crate::gateway::usage::Usage,
    pub priced_at_highest: u64,
    pub skipped_lines: u64,
}

/// The metered record of a run, None when its turns did not go through the
/// gateway.
pub fn metered(spent: &RunSpend) -> Option<Metered> {
    spent.metered.as_ref().map(|m| {
        // the record's lines and the partial records of requests in flight
        let t = m.sum();
        Metered {
            usd: t.usd(),
            requests: t.requests,
            tokens: t.tokens,
            priced_at_highest: t.fallback,
            skipped_lines: t.skipped,
        }
    })
}

/// The run's spend as `runs show`'s line says it: the metered figure, with
/// the agent's own beside it when the two differ to the micro-dollar
/// (`$1.44 metered, the agent reported $0.0042`); else the agent's figure.
pub fn spend_said(
    metered_usd: Option<f64>,
    spend_usd: Option<f64>,
    reported: Option<f64>,
) -> String {
    match (metered_usd, spend_usd) {
        (Some(m), _) => match reported {
            Some(a) if micro(a) != micro(m) => {
                format!("{} metered, the agent reported {}", usd(m), usd(a))
            }
            _ => format!("{} metered", usd(m)),
        },
        (None, Some(x)) => usd(x),
        (None, None) => "not reported".into(),
    }
}

/// One run as `afk runs` lists it (and `--json` prints it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub run_id: RunId,
    pub repo: RepoName,
    pub issue: IssueNumber,
    /// a tracker's issue: its key (`PLAT-12`), as the run's branch carries it
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// the run's status (what `--status` filters by)
    #[serde(skip)]
    pub state: RunStatus,
    /// what `--json` says as `state`: `paused` for a run in flight paused
    /// at a limit, else its status ([`shown_state`])
    #[serde(rename = "state")]
    pub shown: &'static str,
    /// why it ended: its end reason, else its error
    pub reason: Option<String>,
    pub pr: Option<PrNumber>,
    pub pr_url: Option<String>,
    pub turns: u32,
    pub template: Option<String>,
    pub template_version: Option<i64>,
    pub created_at: String,
    pub ended_at: Option<String>,
    /// Seconds from dispatch to the end (or to now, for a run in flight).
    pub duration_s: i64,
    /// What the run spent: the model gateway's metered sum when the run
    /// has a metered record (docs/how-it-works.md#spend), else what its
    /// agents reported; null: nothing known.
    pub spend_usd: Option<f64>,
    /// What the run's agents themselves reported spending (the same figure
    /// as `spend_usd` without a metered record); null: nothing reported.
    pub reported_usd: Option<f64>,
    /// A run in flight paused at a limit: the limit, its figure, the
    /// spend, since and until when; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<crate::budget::pause::Standing>,
}

/// The listing's columns, in order.
pub const COLUMNS: [&str; 9] = [
    "RUN", "ISSUE", "STATE", "REASON", "PR", "DURATION", "TURNS", "SPEND", "TEMPLATE",
];

/// A row's cells under [`COLUMNS`]: an unknown is `-`, a template without a
/// version is the built-in one; a PR is named with the forge's sigil (`#`,
/// GitLab's `!`); a paused run's STATE is `paused` and its REASON the pause
/// with its figures (`pause::cell`).
pub fn cells(r: &Row, pr_sigil: char) -> Vec<String> {
    let (state, reason) = match &r.paused {
        Some(p) => (
            shown_state(r.state, true).to_string(),
            crate::budget::pause::cell(p),
        ),
        None => (r.state.to_string(), r.reason.clone().unwrap_or_default()),
    };
    vec![
        r.run_id.to_string(),
        crate::prompt::place(r.repo.as_str(), r.issue, r.key.as_deref()),
        state,
        reason,
        r.pr.map(|n| format!("{pr_sigil}{n}")).unwrap_or("-".into()),
        human_duration(r.duration_s),
        r.turns.to_string(),
        r.spend_usd.map_or("-".into(), usd),
        match (&r.template, r.template_version) {
            (Some(t), Some(v)) => format!("{t}@{v}"),
            (Some(t), None) => format!("{t} (built-in)"),
            _ => "-".into(),
        },
    ]
}

/// A run's state as `afk runs` and `runs show` say it: `paused` while it
/// is paused at a limit (wherever a state is shown), else its status.
pub fn shown_state(state: RunStatus, paused: bool) -> &'static str {
    match paused {
        true => "paused",
        false => state.as_str(),
    }
}

/// Which runs `--repo` asks for: every one, one repository's, or none (a
/// name that is not a repository's, as a person may type, matches no run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoFilter {
    All,
    One(RepoName),
    Nothing,
}

pub fn repo_filter(typed: Option<&str>) -> RepoFilter {
    match typed.map(RepoName::parse) {
        None => RepoFilter::All,
        Some(Ok(r)) => RepoFilter::One(r),
        Some(Err(_)) => RepoFilter::Nothing,
    }
}

/// Whether the upgrade fixers' runs are listed: not with `--status`, a
/// state of afk's runs that a fixer's run does not have.
pub fn lists_fixers(status: Option<RunStatus>) -> bool {
    status.is_none()
}

/// Whether a file of the run folder is listed by `runs show`: its prompts,
/// the agent's log, the progress file, the metered record, a budget stop,
/// the exit status, the log of the watch a turn's end started, and a
/// bundle of commits afk kept.
pub fn listed_file(name: &str) -> bool {
    name.starts_with("prompt-")
        || name.ends_with(".bundle")
        || [
            "agent.log",
            "progress.jsonl",
            "metered.jsonl",
            "budget-stop.json",
            "exit_status",
            "after-turn.log",
            "gate.md",
        ]
        .contains(&name)
}

/// Whether `agent.log` is shown one line per event (`agent_log::render`):
/// for a person reading a named agent's log; `--raw`, `--json` and a custom
/// program's log are shown as written.
pub fn renders_log(agent: AgentKind, raw: bool, json: bool) -> bool {
    !(raw || json || agent == AgentKind::Custom)
}

/// A recorded corrective turn: when it started, its number and why.
#[derive(Debug, Clone)]
pub struct TurnStarted<'a> {
    pub at: &'a str,
    pub turn: u32,
    pub why: &'a str,
}

/// What the state file knows of a run's moments, for its timeline.
#[derive(Debug, Clone)]
pub struct Moments<'a> {
    pub created_at: &'a str,
    pub updated_at: &'a str,
    pub state: RunStatus,
    /// the turns the run has had (the first one included)
    pub turns: u32,
    pub turns_started: &'a [TurnStarted<'a>],
    /// its PR and when afk first saw it (an older run: unknown)
    pub pr: Option<(PrNumber, &'a str)>,
    /// how the forge names a PR for a person (`#`, GitLab's `!`)
    pub pr_sigil: char,
    pub pr_seen_at: Option<&'a str>,
    pub green_since: Option<&'a str>,
    /// the run's events, in order
    pub events: &'a [(&'a str, EventKind, &'a str)],
    pub ended_at: Option<&'a str>,
    /// why it ended: its end reason, else its error
    pub why_ended: Option<&'a str>,
    /// its outcome, and the merge's revert when there was one
    pub outcome: Option<(&'a str, Option<&'a str>)>,
    pub outcome_at: Option<&'a str>,
    pub reverted_at: Option<&'a str>,
}

/// A run's timeline, in time order to the second (some moments are stored
/// to the microsecond, others to the second; moments of one second keep
/// the order below): dispatched, each corrective turn with why (turns an
/// older afk started without recording them counted once, at the last
/// update), its PR (at its last update when afk did not keep when it saw
/// it), CI green, its events, its end, its outcome.
pub fn timeline(m: &Moments) -> Vec<(String, String)> {
    let mut t: Vec<(String, String)> =
        vec![(m.created_at.to_string(), RunStatus::Dispatched.to_string())];
    for s in m.turns_started {
        t.push((s.at.to_string(), crate::turn_reason::line(s.turn, s.why)));
    }
    let unrecorded = (m.turns.saturating_sub(1) as usize).saturating_sub(m.turns_started.len());
    if unrecorded > 0 {
        t.push((
            m.updated_at.to_string(),
            crate::turn_reason::unrecorded(unrecorded),
        ));
    }
    if let Some((n, url)) = m.pr {
        let at = m.pr_seen_at.unwrap_or(m.updated_at);
        t.push((at.to_string(), format!("PR {}{n} {url}", m.pr_sigil)));
    }
    if let Some(g) = m.green_since {
        t.push((g.to_string(), "CI green".into()));
    }
    for (at, kind, text) in m.events {
        t.push((at.to_string(), format!("{kind}: {text}")));
    }
    if let Some(end) = m.ended_at {
        let why = m.why_ended.unwrap_or("");
        t.push((
            end.to_string(),
            format!("{} {why}", m.state).trim().to_string(),
        ));
    }
    if let Some((o, reverted)) = m.outcome {
        let (at, text) = match reverted {
            Some(sha) => (
                m.reverted_at,
                format!("outcome {o} (the merge was reverted by {sha})"),
            ),
            None => (m.outcome_at, format!("outcome {o}")),
        };
        t.push((at.unwrap_or_default().to_string(), text));
    }
    t.sort_by_key(|(at, _)| {
        crate::types::stamp::parse(at).and_then(|t| t.replace_nanosecond(0).ok())
    });
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        crate::types::stamp::parse(s).unwrap()
    }

    #[test]
    fn a_runs_duration_runs_from_dispatch_to_its_end_or_now_and_is_never_negative() {
        let now = at("2026-01-01T12:00:00Z");
        let cases: [(&str, Option<&str>, i64); 5] = [
            ("2026-01-01T11:00:00Z", Some("2026-01-01T11:30:00Z"), 1800),
            ("2026-01-01T11:00:00Z", None, 3600),
            ("2026-01-01T11:00:00.250Z", Some("2026-01-01T11:00:01Z"), 0),
            ("not a time", Some("2026-01-01T11:00:00Z"), 0),
            ("2026-01-01T13:00:00Z", None, 0),
        ];
        for (created, ended, want) in cases {
            assert_eq!(duration_s(created, ended, now), want, "{created} {ended:?}");
        }
    }

    #[test]
    fn a_duration_is_written_in_its_two_largest_units() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (60, "1m0s"),
            (3599, "59m59s"),
            (3600, "1h0m"),
            (86_399, "23h59m"),
            (86_400, "1d0h"),
            (90_000 + 3600, "1d2h"),
        ];
        for (s, want) in cases {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }

    #[test]
    fn the_spend_said_is_the_metered_figure_with_the_agents_own_beside_it_when_they_differ() {
        let cases = [
            (
                Some(1.44),
                Some(1.44),
                Some(0.0042),
                "$1.44 metered, the agent reported $0.0042",
            ),
            (Some(1.44), Some(1.44), Some(1.44), "$1.44 metered"),
            (Some(1.44), Some(1.44), None, "$1.44 metered"),
            (None, Some(0.5), Some(0.5), "$0.50"),
            (None, None, None, "not reported"),
        ];
        for (metered, spend, reported, want) in cases {
            assert_eq!(spend_said(metered, spend, reported), want);
        }
    }

    #[test]
    fn the_agents_own_figure_is_the_ledgers_only_when_a_metered_record_made_another() {
        let plain = RunSpend::default();
        assert_eq!(reported_usd(&plain, Some(0.3)), Some(0.3));
        assert_eq!(reported_usd(&plain, None), None);
        assert_eq!(metered(&plain), None);
    }

    #[test]
    fn a_listing_row_writes_unknowns_as_a_dash_and_a_versionless_template_as_built_in() {
        let row = |pr, template: Option<&str>, version, spend| Row {
            run_id: RunId(7),
            repo: RepoName::parse("acme/api").unwrap(),
            issue: IssueNumber(3),
            key: None,
            state: RunStatus::Escalated,
            shown: "escalated",
            reason: Some("stalled".into()),
            pr,
            pr_url: None,
            turns: 2,
            template: template.map(str::to_string),
            template_version: version,
            created_at: String::new(),
            ended_at: None,
            duration_s: 61,
            spend_usd: spend,
            reported_usd: spend,
            paused: None,
        };
        let cases = [
            (
                row(Some(PrNumber(9)), Some("default"), Some(4), Some(1.5)),
                ["#9", "$1.50", "default@4"],
            ),
            (
                row(None, Some("default"), None, None),
                ["-", "-", "default (built-in)"],
            ),
            (row(None, None, None, None), ["-", "-", "-"]),
        ];
        for (r, [pr, spend, template]) in cases {
            let c = cells(&r, '#');
            assert_eq!(c.len(), COLUMNS.len());
            assert_eq!(
                (&c[..4], c[5].as_str(), c[6].as_str()),
                (
                    &[
                        "7".to_string(),
                        "acme/api#3".into(),
                        "escalated".into(),
                        "stalled".into()
                    ][..],
                    "1m1s",
                    "2"
                )
            );
            assert_eq!(
                [c[4].as_str(), c[7].as_str(), c[8].as_str()],
                [pr, spend, template]
            );
        }
    }

    /// Run 1 of acme/api#3, dispatched, one turn, not paused.
    fn dispatched(pr: Option<PrNumber>, spend_usd: Option<f64>) -> Row {
        Row {
            run_id: RunId(1),
            repo: RepoName::parse("acme/api").unwrap(),
            issue: IssueNumber(3),
            key: None,
            state: RunStatus::Dispatched,
            shown: "dispatched",
            reason: None,
            pr,
            pr_url: None,
            turns: 1,
            template: None,
            template_version: None,
            created_at: String::new(),
            ended_at: None,
            duration_s: 0,
            spend_usd,
            reported_usd: None,
            paused: None,
        }
    }

    #[test]
    fn a_paused_run_is_listed_paused_with_its_figures_and_deadline() {
        let standing = crate::budget::pause::standing(
            crate::budget::Limit::RunUsd,
            "2026-11-27T14:03:00Z",
            (None, None),
            crate::budget::pause::Configured {
                run_usd: 2.0,
                pause_for: Some(std::time::Duration::from_secs(7 * 86400)),
                ..Default::default()
            },
            Some(2.2),
        );
        let mut r = dispatched(None, Some(2.2));
        assert_eq!(cells(&r, '#')[2], "dispatched");
        r.paused = Some(standing);
        r.shown = shown_state(r.state, true);
        let c = cells(&r, '#');
        assert_eq!(c[2], "paused");
        assert_eq!(
            c[3],
            "paused at $2.20 of $2.00 (run_usd) since 2026-11-27T14:03:00Z, until 2026-12-04T14:03:00Z"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["state"], "paused", "{json}");
        assert_eq!(json["paused"]["limit"], "run_usd", "{json}");
        assert_eq!(json["paused"]["until"], "2026-12-04T14:03:00Z", "{json}");
    }

    #[test]
    fn a_pr_is_named_with_the_forges_sigil_in_the_listing_and_the_timeline() {
        let r = dispatched(Some(PrNumber(4)), None);
        let m = Moments {
            created_at: "2026-01-01T10:00:00Z",
            updated_at: "2026-01-01T10:00:00Z",
            state: RunStatus::Dispatched,
            turns: 1,
            turns_started: &[],
            pr: Some((PrNumber(4), "u")),
            pr_sigil: '#',
            pr_seen_at: None,
            green_since: None,
            events: &[],
            ended_at: None,
            why_ended: None,
            outcome: None,
            outcome_at: None,
            reverted_at: None,
        };
        for (sigil, named) in [('#', "#4"), ('!', "!4")] {
            assert_eq!(cells(&r, sigil)[4], named);
            let m = Moments {
                pr_sigil: sigil,
                ..m.clone()
            };
            assert_eq!(timeline(&m)[1].1, format!("PR {named} u"));
        }
    }

    #[test]
    fn a_repo_that_is_not_owner_name_matches_no_run_and_fixers_are_listed_without_a_status() {
        assert_eq!(repo_filter(None), RepoFilter::All);
        assert_eq!(
            repo_filter(Some("acme/api")),
            RepoFilter::One(RepoName::parse("acme/api").unwrap())
        );
        assert_eq!(repo_filter(Some("not a repo")), RepoFilter::Nothing);
        assert!(lists_fixers(None));
        assert!(!lists_fixers(Some(RunStatus::Succeeded)));
    }

    #[test]
    fn runs_show_lists_the_files_a_person_reads_of_a_run() {
        let cases = [
            ("prompt-1.md", true),
            ("prompt-12.md", true),
            ("agent.log", true),
            ("progress.jsonl", true),
            ("metered.jsonl", true),
            ("budget-stop.json", true),
            ("exit_status", true),
            ("after-turn.log", true),
            ("turn-2-gated.bundle", true),
            ("gate.md", true),
            ("agent.log.1", false),
            ("box", false),
            ("spawning", false),
            ("exit_status.tmp", false),
        ];
        for (name, want) in cases {
            assert_eq!(listed_file(name), want, "{name}");
        }
    }

    #[test]
    fn a_named_agents_log_is_rendered_for_people_and_kept_as_written_raw_in_json_or_custom() {
        let cases = [
            (AgentKind::Claude, false, false, true),
            (AgentKind::Codex, false, false, true),
            (AgentKind::Claude, true, false, false),
            (AgentKind::Claude, false, true, false),
            (AgentKind::Custom, false, false, false),
        ];
        for (agent, raw, json, want) in cases {
            assert_eq!(
                renders_log(agent, raw, json),
                want,
                "{agent:?} {raw} {json}"
            );
        }
    }

    #[test]
    fn a_timeline_is_in_time_order_to_the_second_with_unrecorded_turns_counted_once() {
        let turns = [TurnStarted {
            at: "2026-01-01T10:20:00.500Z",
            turn: 2,
            why: "CI failed",
        }];
        let events = [("2026-01-01T10:30:00Z", EventKind::RunEscalated, "stalled")];
        let m = Moments {
            created_at: "2026-01-01T10:00:00.900Z",
            updated_at: "2026-01-01T10:40:00Z",
            state: RunStatus::Escalated,
            turns: 4,
            turns_started: &turns,
            pr: Some((PrNumber(5), "https://f/acme/api/pulls/5")),
            pr_sigil: '#',
            pr_seen_at: None,
            green_since: Some("2026-01-01T10:20:00Z"),
            events: &events,
            ended_at: Some("2026-01-01T10:45:00Z"),
            why_ended: Some("stalled"),
            outcome: Some(("failure", Some("abc123"))),
            outcome_at: None,
            reverted_at: Some("2026-01-02T00:00:00Z"),
        };
        let got: Vec<String> = timeline(&m)
            .into_iter()
            .map(|(at, what)| format!("{at} {what}"))
            .collect();
        assert_eq!(
            got,
            [
                "2026-01-01T10:00:00.900Z dispatched".to_string(),
                // the same second as CI green, listed first as above
                format!(
                    "2026-01-01T10:20:00.500Z {}",
                    crate::turn_reason::line(2, "CI failed")
                ),
                "2026-01-01T10:20:00Z CI green".into(),
                format!("2026-01-01T10:30:00Z {}: stalled", EventKind::RunEscalated),
                format!("2026-01-01T10:40:00Z {}", crate::turn_reason::unrecorded(2)),
                "2026-01-01T10:40:00Z PR #5 https://f/acme/api/pulls/5".into(),
                "2026-01-01T10:45:00Z escalated stalled".into(),
                "2026-01-02T00:00:00Z outcome failure (the merge was reverted by abc123)".into(),
            ]
        );
    }
}
