// One file: the pilot figures (~620 lines) and the table tests that pin them, kept beside them as everywhere in core.
//! The figures a team judges a pilot by (`afk report`, the status page's
//! "Pilot figures", the metrics file's `afk_report_*` gauges;
//! docs/reports.md#afk-report), per repository and overall, over a window
//! of time. Pure: the store reads each run of the window into a
//! [`RunFacts`] of plain values, and [`report`] counts them. Every figure
//! comes from the state file, none from the forge.
//!
//! The rules, stated once:
//! - **the window**: a run belongs to it when it was dispatched (poll's
//!   claim) in `[now - window, now]`; every figure is over those runs, so a
//!   run dispatched before the window and merged inside it is not counted.
//! - **outcomes**: by the run's state, a decided end (`escalating`, …)
//!   counted as its end: `succeeded` (merged), `escalated`, `abandoned`,
//!   `failed` (the agent never started), `in_flight`. A failed start is
//!   no run: `runs` counts the runs whose agent started, and
//!   `start_failures` the others, shown apart.
//! - **times** are measured from the arming: when the ready label that
//!   poll dispatched on was added, as the forge dated its event and poll
//!   recorded it with its claim ([`start_of`]); a run claimed by an older
//!   afk, or whose event had no date, is measured from its dispatch (the
//!   first poll tick that took the armed issue). Each figure says which
//!   (`from`, `from_armed`). To PR: to when watch first saw (or opened) the
//!   run's PR, over every run with a PR. To merge: to the merge's time as
//!   watch recorded it from the PR (else the run's end, when afk carried the
//!   success out), over the merged runs.
//! - **median and p90** by nearest rank ([`nearest_rank`]): the value at
//!   rank ⌈p·n⌉ of the n sorted values, always one of them (the median of
//!   two is the lower).
//! - **corrective turns** are a run's turns after its first, counted over
//!   the merged runs and divided by their number; by reason as recorded
//!   (`unrecorded` for turns an older afk started without a record).
//! - **spend per merged PR**: what every run of the window reported
//!   spending (the escalated and abandoned ones too: their cost bought the
//!   merges) divided by the merged runs; a run that reported nothing counts
//!   $0 and is counted in `unreported_runs` (a failed start spent nothing
//!   and is not).
//! - **none**: a figure with nothing to measure (no PR, no merge) is `None`
//!   (`null` in JSON, `none` in text, no line in the metrics file), never 0.
use crate::types::Invalid;

use super::leaderboard::{self, BoardFacts};
use crate::survival::Survived;
use crate::types::RunStatus;
use crate::zero_touch::{Touched, ZeroTouch};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The window `afk report`, the page and the metrics file use unless told.
pub const DEFAULT_WINDOW: &str = "30d";
/// [`DEFAULT_WINDOW`] in days: the page's heading says it.
pub const DEFAULT_DAYS: u64 = 30;

/// One run of the window, as the state file has it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFacts {
    pub repo: String,
    pub state: RunStatus,
    /// when the ready label that armed it was added (None: not recorded)
    pub armed_at: Option<OffsetDateTime>,
    pub dispatched_at: Option<OffsetDateTime>,
    /// when watch first saw (or opened) its PR
    pub pr_at: Option<OffsetDateTime>,
    /// the merge's time as watch recorded it
    pub merged_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    /// agent turns, the first included
    pub turns: u32,
    /// the recorded corrective turns' reasons (`ci-red`, `review`, …)
    pub turn_reasons: Vec<String>,
    pub spend_usd: Option<f64>,
    pub end_reason: Option<String>,
    /// harvest found its merge reverted
    pub reverted: bool,
    /// the zero-touch verdict watch recorded at the merge (None: unknown,
    /// an older afk carried it)
    pub zero_touch: Option<ZeroTouch>,
    /// the line survival harvest counted once the window ended (None: not
    /// yet)
    pub survival: Option<Survived>,
    /// the template version stored on the run: (name, version)
    pub template: Option<(String, i64)>,
    /// what harvest found for the leaderboard figures
    /// (`status::leaderboard`)
    pub board: BoardFacts,
}

/// Runs by outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Outcomes {
    pub succeeded: usize,
    pub escalated: usize,
    pub abandoned: usize,
    pub failed: usize,
    pub in_flight: usize,
}

/// A run's outcome, as [`Outcomes`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Escalated,
    Abandoned,
    Failed,
    InFlight,
}

impl Outcome {
    /// The outcomes of runs whose agent started: a failed start is no run
    /// (`Figures::start_failures` counts it apart).
    pub const OF_RUNS: [Outcome; 4] = [
        Outcome::Succeeded,
        Outcome::Escalated,
        Outcome::Abandoned,
        Outcome::InFlight,
    ];

    pub const ALL: [Outcome; 5] = [
        Outcome::Succeeded,
        Outcome::Escalated,
        Outcome::Abandoned,
        Outcome::Failed,
        Outcome::InFlight,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Escalated => "escalated",
            Outcome::Abandoned => "abandoned",
            Outcome::Failed => "failed",
            Outcome::InFlight => "in_flight",
        }
    }
}

/// The outcome rule: a decided end counts as its end.
pub(crate) fn outcome_of(state: RunStatus) -> Outcome {
    match state {
        RunStatus::Succeeded | RunStatus::Succeeding => Outcome::Succeeded,
        RunStatus::Escalated | RunStatus::Escalating => Outcome::Escalated,
        RunStatus::Abandoned | RunStatus::Abandoning => Outcome::Abandoned,
        RunStatus::Failed => Outcome::Failed,
        RunStatus::Dispatching | RunStatus::Started | RunStatus::Dispatched => Outcome::InFlight,
    }
}

impl Outcomes {
    pub fn of(&self, o: Outcome) -> usize {
        match o {
            Outcome::Succeeded => self.succeeded,
            Outcome::Escalated => self.escalated,
            Outcome::Abandoned => self.abandoned,
            Outcome::Failed => self.failed,
            Outcome::InFlight => self.in_flight,
        }
    }

    fn add(&mut self, o: Outcome) {
        *match o {
            Outcome::Succeeded => &mut self.succeeded,
            Outcome::Escalated => &mut self.escalated,
            Outcome::Abandoned => &mut self.abandoned,
            Outcome::Failed => &mut self.failed,
            Outcome::InFlight => &mut self.in_flight,
        } += 1;
    }
}

/// What a run's times are measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// the ready label's addition, as poll recorded it
    Armed,
    /// poll's claim: the arming is not known
    Dispatched,
}

/// The start rule: the arming when poll recorded it, else the dispatch; an
/// arming dated after the dispatch (the forge's clock ahead of afk's)
/// counts as the dispatch's moment, still from the arming. None: neither
/// is known.
pub fn start_of(r: &RunFacts) -> Option<(OffsetDateTime, Start)> {
    match (r.armed_at, r.dispatched_at) {
        (Some(a), Some(d)) => Some((a.min(d), Start::Armed)),
        (Some(a), None) => Some((a, Start::Armed)),
        (None, Some(d)) => Some((d, Start::Dispatched)),
        (None, None) => None,
    }
}

/// Durations in seconds: how many, their median and p90 (None: none), and
/// what they were measured from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Spread {
    pub count: usize,
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
    /// `armed` (every value from its arming), `dispatched` (every one from
    /// its dispatch), `mixed`; None: nothing measured
    pub from: Option<&'static str>,
    /// how many of `count` were measured from the arming
    pub from_armed: usize,
}

impl Spread {
    pub fn of(mut values: Vec<i64>) -> Spread {
        values.sort_unstable();
        Spread {
            count: values.len(),
            median_s: nearest_rank(&values, 50),
            p90_s: nearest_rank(&values, 90),
            from: None,
            from_armed: 0,
        }
    }

    /// The spread of durations, each with what it was measured from.
    pub fn measured(values: Vec<(i64, Start)>) -> Spread {
        let armed = values.iter().filter(|(_, s)| *s == Start::Armed).count();
        let n = values.len();
        Spread {
            from: match armed {
                _ if n == 0 => None,
                0 => Some("dispatched"),
                a if a == n => Some("armed"),
                _ => Some("mixed"),
            },
            from_armed: armed,
            ..Spread::of(values.into_iter().map(|(v, _)| v).collect())
        }
    }
}

/// The nearest-rank percentile of sorted `values`: the value at rank
/// ⌈pct/100 · n⌉ (1-based, at least 1); None when there is none.
pub(crate) fn nearest_rank(sorted: &[i64], pct: usize) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (pct * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

/// Corrective turns of the merged runs.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Turns {
    pub total: u32,
    /// `total` over the merged runs, to two decimals; None: nothing merged
    pub per_merged_pr: Option<f64>,
    pub by_reason: BTreeMap<String, u32>,
}

/// What the runs reported spending.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Spend {
    /// every run of the window
    pub total_usd: f64,
    /// the merged runs alone
    pub merged_usd: f64,
    /// `total_usd` over the merged runs; None: nothing merged
    pub per_merged_pr_usd: Option<f64>,
    /// runs whose agents reported nothing (counted as $0)
    pub unreported_runs: usize,
}

/// Every figure over one set of runs.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Figures {
    /// runs whose agent started (a failed start is not one)
    pub runs: usize,
    /// claims whose agent never started (a missing program, a poll killed
    /// before the fork): counted apart, never in `runs` or a rate
    pub start_failures: usize,
    pub outcomes: Outcomes,
    /// merged runs whose merge harvest found reverted (still counted merged)
    pub reverted: usize,
    pub to_pr: Spread,
    pub to_merge: Spread,
    pub corrective_turns: Turns,
    pub spend: Spend,
    /// escalated runs by their reason (`unknown`: none recorded)
    pub escalations: BTreeMap<String, usize>,
    pub zero_touch: ZeroTouchFigures,
    pub survival: SurvivalFigures,
    /// the published leaderboards' figures (`status::leaderboard`)
    pub reverts: leaderboard::Reverts,
    pub churn: leaderboard::Churn,
    pub review_rounds: leaderboard::Rounds,
    pub cost: leaderboard::Cost,
}

/// The merged runs that are not zero-touch, by why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NotZeroTouch {
    pub commit: usize,
    pub changes_requested: usize,
}

/// Zero-touch merges: of the merged runs, those no person touched; `rate` =
/// `count` / (`merged` − `unknown`), None when that is 0.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ZeroTouchFigures {
    pub merged: usize,
    pub count: usize,
    pub rate: Option<f64>,
    pub unknown: usize,
    pub not: NotZeroTouch,
}

/// Line survival, pooled by lines: Σ surviving / Σ added over the merged
/// runs with a figure; None with no such run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurvivalFigures {
    /// `harvest.survival_window` as written
    pub window: String,
    /// merged runs with a figure
    pub runs: usize,
    /// merged runs whose window has not ended (or not yet counted)
    pub pending: usize,
    /// merged runs that added no counted line
    pub no_lines: usize,
    pub lines_added: u64,
    pub lines_surviving: u64,
    pub rate: Option<f64>,
}

impl Default for SurvivalFigures {
    fn default() -> Self {
        SurvivalFigures {
            window: crate::survival::DEFAULT_WINDOW.into(),
            runs: 0,
            pending: 0,
            no_lines: 0,
            lines_added: 0,
            lines_surviving: 0,
            rate: None,
        }
    }
}

/// A rate to six decimals.
fn six_decimals(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The zero-touch and survival rules over one merged run.
fn count_touch(f: &mut Figures, r: &RunFacts) {
    let z = &mut f.zero_touch;
    z.merged += 1;
    match r.zero_touch {
        None => z.unknown += 1,
        Some(ZeroTouch::Yes) => z.count += 1,
        Some(ZeroTouch::Not(Touched::Commit)) => z.not.commit += 1,
        Some(ZeroTouch::Not(Touched::ChangesRequested)) => z.not.changes_requested += 1,
    }
    let s = &mut f.survival;
    match r.survival {
        None => s.pending += 1,
        Some(v) if v.lines_added == 0 => s.no_lines += 1,
        Some(v) => {
            s.runs += 1;
            s.lines_added += v.lines_added;
            s.lines_surviving += v.lines_surviving.min(v.lines_added);
        }
    }
}

/// The rates once every merged run is counted.
fn touch_rates(f: &mut Figures) {
    let z = &mut f.zero_touch;
    let known = z.merged - z.unknown;
    z.rate = (known > 0).then(|| six_decimals(z.count as f64 / known as f64));
    let s = &mut f.survival;
    s.rate =
        (s.lines_added > 0).then(|| six_decimals(s.lines_surviving as f64 / s.lines_added as f64));
}

/// Zero-touch for people: `1/2` (of the merged runs with a verdict), or
/// `none`.
pub fn zero_touch_text(z: &ZeroTouchFigures) -> String {
    match z.merged - z.unknown {
        0 => "none".into(),
        known => format!("{}/{known}", z.count),
    }
}

/// Survival for people: `60% of 10 lines`, `pending` (merged runs, none
/// counted yet), or `none`.
pub fn survival_text(s: &SurvivalFigures) -> String {
    match s.rate {
        Some(r) => format!(
            "{}% of {}",
            (r * 100.0).round(),
            crate::plural(s.lines_added as usize, "line", "lines")
        ),
        None if s.pending > 0 => "pending".into(),
        None => "none".into(),
    }
}

/// One template version's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateFigures {
    pub template: String,
    pub version: i64,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One repository's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoFigures {
    pub repo: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The figures of a window: per repository (by name) and overall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// the window's length (`30d`)
    pub since: String,
    /// its start and end (RFC 3339)
    pub from: String,
    pub to: String,
    pub overall: Figures,
    pub repos: Vec<RepoFigures>,
    /// per template version stored on the window's runs, by name then version
    pub templates: Vec<TemplateFigures>,
}

impl Report {
    /// `harvest.survival_window` as written, on every survival figure
    /// (`report` says the default).
    pub fn with_survival_window(mut self, window: &str) -> Report {
        let all = std::iter::once(&mut self.overall)
            .chain(self.repos.iter_mut().map(|r| &mut r.figures))
            .chain(self.templates.iter_mut().map(|t| &mut t.figures));
        for f in all {
            f.survival.window = window.to_string();
        }
        self
    }
}

/// The window's start, `window` before `now`: an empty window, or one
/// reaching before the calendar's start, is refused with why.
pub fn window_start(
    window: std::time::Duration,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Invalid> {
    if window.is_zero() {
        return Err(Invalid(
            "the window is empty (give a length above 0, e.g. \"30d\")".into(),
        ));
    }
    time::Duration::try_from(window)
        .ok()
        .and_then(|d| now.checked_sub(d))
        .ok_or_else(|| "the window reaches before the calendar's start".into())
}

/// Whether a run belongs to the window `[from, to]`: dispatched in it. A run
/// whose dispatch time is unknown belongs to none.
pub(crate) fn in_window(r: &RunFacts, from: OffsetDateTime, to: OffsetDateTime) -> bool {
    r.dispatched_at.is_some_and(|d| from <= d && d <= to)
}

/// The report of the runs dispatched in the `window` up to `now`; `runs`
/// may hold others, which are left out. A window [`window_start`] refuses
/// reaches back to the calendar's start.
/// `kept_floor`: `[report] kept_floor`, for the cost per kept run.
pub fn report(
    runs: &[RunFacts],
    window: std::time::Duration,
    now: OffsetDateTime,
    kept_floor: f64,
) -> Report {
    let from = window_start(window, now).unwrap_or(OffsetDateTime::new_utc(
        time::Date::MIN,
        time::Time::MIDNIGHT,
    ));
    let inside: Vec<&RunFacts> = runs.iter().filter(|r| in_window(r, from, now)).collect();
    let mut by_repo: BTreeMap<&str, Vec<&RunFacts>> = BTreeMap::new();
    let mut by_template: BTreeMap<(&str, i64), Vec<&RunFacts>> = BTreeMap::new();
    for r in &inside {
        by_repo.entry(r.repo.as_str()).or_default().push(r);
        if let Some((name, version)) = &r.template {
            by_template
                .entry((name.as_str(), *version))
                .or_default()
                .push(r);
        }
    }
    Report {
        since: crate::types::format_duration(window),
        from: crate::types::stamp::ts(from),
        to: crate::types::stamp::ts(now),
        overall: figures(&inside, kept_floor),
        repos: by_repo
            .into_iter()
            .map(|(repo, rs)| RepoFigures {
                repo: repo.to_string(),
                figures: figures(&rs, kept_floor),
            })
            .collect(),
        templates: by_template
            .into_iter()
            .map(|((template, version), rs)| TemplateFigures {
                template: template.to_string(),
                version,
                figures: figures(&rs, kept_floor),
            })
            .collect(),
    }
}

/// Seconds from `a` to `b`, never below 0 (a clock's step back).
fn seconds(a: OffsetDateTime, b: OffsetDateTime) -> i64 {
    (b - a).whole_seconds().max(0)
}

fn two_decimals(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Every figure over `runs` (the rules: the module's header, and
/// `status::leaderboard`'s for the published leaderboards' four).
pub fn figures(runs: &[&RunFacts], kept_floor: f64) -> Figures {
    let mut f = Figures::default();
    let mut to_pr = vec![];
    let mut to_merge = vec![];
    let mut total_usd = 0.0;
    let mut merged_usd = 0.0;
    for r in runs {
        let outcome = outcome_of(r.state);
        f.outcomes.add(outcome);
        let start = start_of(r);
        if let (Some((d, from)), Some(pr)) = (start, r.pr_at) {
            to_pr.push((seconds(d, pr), from));
        }
        total_usd += r.spend_usd.unwrap_or(0.0);
        if r.spend_usd.is_none() && outcome != Outcome::Failed {
            f.spend.unreported_runs += 1;
        }
        match outcome {
            Outcome::Succeeded => {
                if let (Some((d, from)), Some(m)) = (start, r.merged_at.or(r.ended_at)) {
                    to_merge.push((seconds(d, m), from));
                }
                f.reverted += usize::from(r.reverted);
                count_touch(&mut f, r);
                merged_usd += r.spend_usd.unwrap_or(0.0);
                let corrective = r.turns.saturating_sub(1);
                f.corrective_turns.total += corrective;
                let by = &mut f.corrective_turns.by_reason;
                let recorded = r.turn_reasons.iter().take(corrective as usize);
                for reason in recorded {
                    *by.entry(reason.clone()).or_default() += 1;
                }
                let unrecorded = corrective.saturating_sub(r.turn_reasons.len() as u32);
                if unrecorded > 0 {
                    *by.entry("unrecorded".into()).or_default() += unrecorded;
                }
            }
            Outcome::Escalated => {
                let reason = r
                    .end_reason
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "unknown".into());
                *f.escalations.entry(reason).or_default() += 1;
            }
            _ => {}
        }
    }
    f.start_failures = f.outcomes.failed;
    f.runs = runs.len() - f.start_failures;
    touch_rates(&mut f);
    f.to_pr = Spread::measured(to_pr);
    f.to_merge = Spread::measured(to_merge);
    let merged = f.outcomes.succeeded;
    f.corrective_turns.per_merged_pr =
        (merged > 0).then(|| two_decimals(f64::from(f.corrective_turns.total) / merged as f64));
    f.spend.total_usd = crate::budget::spend::round(total_usd);
    f.spend.merged_usd = crate::budget::spend::round(merged_usd);
    f.spend.per_merged_pr_usd =
        (merged > 0).then(|| crate::budget::spend::round(total_usd / merged as f64));
    let b = leaderboard::board(runs, total_usd, kept_floor);
    (f.reverts, f.churn, f.review_rounds, f.cost) = (b.reverts, b.churn, b.review_rounds, b.cost);
    f
}

/// A duration for people: `45s`, `12m30s`, `3h5m`, `2d4h`.
pub(crate) fn duration_text(s: i64) -> String {
    match s {
        s if s >= 86_400 => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m{}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// A spread for people: `40m0s / 1h0m` (median / p90), or `none`.
pub fn spread_text(s: &Spread) -> String {
    match (s.median_s, s.p90_s) {
        (Some(m), Some(p)) => format!("{} / {}", duration_text(m), duration_text(p)),
        _ => "none".into(),
    }
}

/// What the times of `f` were measured from, for people: `times from the
/// arming`, `times from dispatch`, or how many of each figure were from the
/// arming (`times from the arming for to PR 1 of 3 and to merge 0 of 2,
/// else from dispatch`).
pub fn from_text(f: &Figures) -> String {
    let (p, m) = (&f.to_pr, &f.to_merge);
    let armed = p.from_armed + m.from_armed;
    if armed == 0 {
        "times from dispatch".into()
    } else if armed == p.count + m.count {
        "times from the arming".into()
    } else {
        format!(
            "times from the arming for to PR {} of {} and to merge {} of {}, else from dispatch",
            p.from_armed, p.count, m.from_armed, m.count
        )
    }
}

/// Corrective turns per merged PR for people: `1.5`, or `none`.
pub fn per_merged_text(x: Option<f64>) -> String {
    x.map_or_else(|| "none".into(), |x| format!("{x}"))
}

/// Spend per merged PR for people: `$3.20`, or `none`.
pub fn usd_text(x: Option<f64>) -> String {
    x.map_or_else(|| "none".into(), crate::budget::spend::usd)
}

/// Escalations by reason for people: `ci-red 2, stalled 1`, or `none`.
pub fn by_reason_text<N: std::fmt::Display>(m: &BTreeMap<String, N>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run in flight with no fact but its state.
    fn base() -> RunFacts {
        RunFacts {
            board: Default::default(),
            repo: String::new(),
            state: RunStatus::Dispatched,
            armed_at: None,
            dispatched_at: None,
            pr_at: None,
            merged_at: None,
            ended_at: None,
            turns: 1,
            turn_reasons: vec![],
            spend_usd: None,
            end_reason: None,
            reverted: false,
            zero_touch: None,
            survival: None,
            template: None,
        }
    }

    fn at(min: i64) -> OffsetDateTime {
        time::macros::datetime!(2026-05-01 00:00 UTC) + time::Duration::minutes(min)
    }

    #[test]
    fn nearest_rank_takes_the_value_at_rank_ceil_p_n() {
        // (values, median, p90)
        let table: &[(&[i64], Option<i64>, Option<i64>)] = &[
            (&[], None, None),
            (&[7], Some(7), Some(7)),
            (&[1, 2], Some(1), Some(2)),
            (&[1, 2, 3], Some(2), Some(3)),
            (&[1, 2, 3, 4], Some(2), Some(4)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], Some(5), Some(9)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], Some(6), Some(10)),
        ];
        for (values, median, p90) in table {
            assert_eq!(nearest_rank(values, 50), *median, "{values:?}");
            assert_eq!(nearest_rank(values, 90), *p90, "{values:?}");
        }
        assert_eq!(
            Spread::of(vec![30, 10, 20]),
            Spread {
                count: 3,
                median_s: Some(20),
                p90_s: Some(30),
                ..Spread::default()
            },
            "sorted first"
        );
    }

    #[test]
    fn outcome_of_counts_a_decided_end_as_its_end() {
        let table = [
            (RunStatus::Dispatching, Outcome::InFlight),
            (RunStatus::Started, Outcome::InFlight),
            (RunStatus::Dispatched, Outcome::InFlight),
            (RunStatus::Escalating, Outcome::Escalated),
            (RunStatus::Succeeding, Outcome::Succeeded),
            (RunStatus::Abandoning, Outcome::Abandoned),
            (RunStatus::Escalated, Outcome::Escalated),
            (RunStatus::Succeeded, Outcome::Succeeded),
            (RunStatus::Abandoned, Outcome::Abandoned),
            (RunStatus::Failed, Outcome::Failed),
        ];
        for (s, want) in table {
            assert_eq!(outcome_of(s), want, "{s}");
        }
    }

    #[test]
    fn window_start_refuses_an_empty_or_endless_window() {
        let day = std::time::Duration::from_secs(86_400);
        let table: &[(std::time::Duration, Result<OffsetDateTime, &str>)] = &[
            (day * 30, Ok(at(-30 * 1440))),
            (
                std::time::Duration::from_secs(1),
                Ok(at(0) - time::Duration::seconds(1)),
            ),
            (std::time::Duration::ZERO, Err("the window is empty")),
            (day * 10_000_000, Err("before the calendar's start")),
            (std::time::Duration::MAX, Err("before the calendar's start")),
        ];
        for (w, want) in table {
            match (window_start(*w, at(0)), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, *want, "{w:?}"),
                (Err(e), Err(want)) => assert!(e.0.contains(want), "{w:?}: {e}"),
                (got, want) => panic!("{w:?}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn in_window_is_by_dispatch_both_ends_included() {
        let (from, to) = (at(0), at(60));
        let table = [
            (Some(at(-1)), false),
            (Some(at(0)), true),
            (Some(at(30)), true),
            (Some(at(60)), true),
            (Some(at(61)), false),
            (None, false),
        ];
        for (d, want) in table {
            let r = RunFacts {
                board: Default::default(),
                dispatched_at: d,
                ..base()
            };
            assert_eq!(in_window(&r, from, to), want, "{d:?}");
        }
    }

    /// A merged run: dispatched at `d`, PR at `pr`, merged at `m` (minutes),
    /// `turns` agent turns, `spend`.
    fn merged(repo: &str, d: i64, pr: i64, m: i64, turns: u32, spend: Option<f64>) -> RunFacts {
        RunFacts {
            board: Default::default(),
            repo: repo.into(),
            state: RunStatus::Succeeded,
            dispatched_at: Some(at(d)),
            pr_at: Some(at(pr)),
            merged_at: Some(at(m)),
            ended_at: Some(at(m + 5)),
            turns,
            spend_usd: spend,
            ..base()
        }
    }

    fn escalated(repo: &str, d: i64, reason: Option<&str>, spend: Option<f64>) -> RunFacts {
        RunFacts {
            board: Default::default(),
            repo: repo.into(),
            state: RunStatus::Escalated,
            dispatched_at: Some(at(d)),
            ended_at: Some(at(d + 90)),
            turns: 3,
            turn_reasons: vec!["ci-red".into(), "ci-red".into()],
            spend_usd: spend,
            end_reason: reason.map(str::to_string),
            ..base()
        }
    }

    #[test]
    fn figures_count_each_figure_by_its_rule() {
        let mut a = merged("acme/api", 0, 30, 120, 3, Some(2.0));
        a.turn_reasons = vec!["ci-red".into(), "review".into()];
        let mut b = merged("acme/api", 10, 20, 70, 2, None);
        // an older afk's turn, not recorded
        b.turn_reasons = vec![];
        b.reverted = true;
        // merged without a recorded merge time: its end stands in
        let mut c = merged("acme/web", 0, 10, 0, 1, Some(1.0));
        c.merged_at = None;
        c.ended_at = Some(at(45));
        let e = escalated("acme/api", 0, Some("ci-red"), Some(3.0));
        let e2 = escalated("acme/web", 0, None, Some(0.5));
        let failed = RunFacts {
            board: Default::default(),
            repo: "acme/api".into(),
            state: RunStatus::Failed,
            dispatched_at: Some(at(0)),
            ..base()
        };
        let flying = RunFacts {
            board: Default::default(),
            repo: "acme/web".into(),
            state: RunStatus::Dispatched,
            dispatched_at: Some(at(0)),
            pr_at: Some(at(100)),
            ..base()
        };
        let runs = [&a, &b, &c, &e, &e2, &failed, &flying];
        let f = figures(&runs, 0.5);
        assert_eq!(f.runs, 6, "the failed start is not a run");
        assert_eq!(f.start_failures, 1);
        assert_eq!(
            f.outcomes,
            Outcomes {
                succeeded: 3,
                escalated: 2,
                abandoned: 0,
                failed: 1,
                in_flight: 1
            }
        );
        assert_eq!(f.reverted, 1);
        // PRs after 30, 10, 10, 100 minutes: sorted 10, 10, 30, 100
        assert_eq!(
            f.to_pr,
            Spread {
                count: 4,
                median_s: Some(600),
                p90_s: Some(6000),
                from: Some("dispatched"),
                from_armed: 0,
            }
        );
        // merges after 120, 60, 45 minutes: sorted 45, 60, 120
        assert_eq!(
            f.to_merge,
            Spread {
                count: 3,
                median_s: Some(3600),
                p90_s: Some(7200),
                from: Some("dispatched"),
                from_armed: 0,
            }
        );
        // the merged runs' turns after the first: 2 + 1 + 0 (the escalated
        // runs' are not counted)
        assert_eq!(f.corrective_turns.total, 3);
        assert_eq!(f.corrective_turns.per_merged_pr, Some(1.0));
        assert_eq!(
            f.corrective_turns.by_reason,
            BTreeMap::from([
                ("ci-red".to_string(), 1),
                ("review".to_string(), 1),
                ("unrecorded".to_string(), 1)
            ])
        );
        // every run's spend over the merged: 6.5 / 3; b and the run in
        // flight reported nothing, the failed start is not counted
        assert_eq!(
            f.spend,
            Spend {
                total_usd: 6.5,
                merged_usd: 3.0,
                per_merged_pr_usd: Some(2.166667),
                unreported_runs: 2
            }
        );
        assert_eq!(
            f.escalations,
            BTreeMap::from([("ci-red".to_string(), 1), ("unknown".to_string(), 1)])
        );
    }

    #[test]
    fn figures_of_no_runs_are_none_not_zero() {
        let f = figures(&[], 0.5);
        assert_eq!(f.runs, 0);
        assert_eq!(f.to_pr.median_s, None);
        assert_eq!(f.to_merge.p90_s, None);
        assert_eq!(f.corrective_turns.per_merged_pr, None);
        assert_eq!(f.spend.per_merged_pr_usd, None);
        // runs without a merge: still none per merged PR
        let e = escalated("acme/api", 0, Some("stalled"), Some(4.0));
        let f = figures(&[&e], 0.5);
        assert_eq!(f.spend.total_usd, 4.0);
        assert_eq!(f.spend.per_merged_pr_usd, None);
        assert_eq!(f.corrective_turns.per_merged_pr, None);
        assert_eq!(spread_text(&f.to_merge), "none");
        assert_eq!(usd_text(f.spend.per_merged_pr_usd), "none");
        assert_eq!(per_merged_text(None), "none");
        assert_eq!(by_reason_text::<usize>(&BTreeMap::new()), "none");
    }

    #[test]
    fn times_start_at_the_arming_when_recorded_else_at_the_dispatch() {
        /// (armed, dispatched, start), in minutes
        type Case = (Option<i64>, Option<i64>, Option<(i64, Start)>);
        let table: &[Case] = &[
            (Some(-15), Some(0), Some((-15, Start::Armed))),
            (None, Some(0), Some((0, Start::Dispatched))),
            // the forge's clock ahead of afk's: never after the dispatch
            (Some(5), Some(0), Some((0, Start::Armed))),
            (Some(-15), None, Some((-15, Start::Armed))),
            (None, None, None),
        ];
        for (i, (a, d, want)) in table.iter().enumerate() {
            let r = RunFacts {
                board: Default::default(),
                armed_at: a.map(at),
                dispatched_at: d.map(at),
                ..base()
            };
            assert_eq!(start_of(&r), want.map(|(m, s)| (at(m), s)), "case {i}");
        }
    }

    #[test]
    fn figures_say_what_their_times_were_measured_from() {
        // a: armed 15 minutes before its dispatch, PR 30 after the dispatch
        // and merged after 120: 45 and 135 minutes from the arming
        let mut a = merged("acme/api", 0, 30, 120, 1, None);
        a.armed_at = Some(at(-15));
        let b = merged("acme/api", 0, 10, 60, 1, None);
        // (runs, to PR, to merge, text)
        let table: &[(Vec<&RunFacts>, Spread, Spread, &str)] = &[
            (
                vec![&a],
                Spread {
                    count: 1,
                    median_s: Some(2700),
                    p90_s: Some(2700),
                    from: Some("armed"),
                    from_armed: 1,
                },
                Spread {
                    count: 1,
                    median_s: Some(8100),
                    p90_s: Some(8100),
                    from: Some("armed"),
                    from_armed: 1,
                },
                "times from the arming",
            ),
            (
                vec![&b],
                Spread {
                    count: 1,
                    median_s: Some(600),
                    p90_s: Some(600),
                    from: Some("dispatched"),
                    from_armed: 0,
                },
                Spread {
                    count: 1,
                    median_s: Some(3600),
                    p90_s: Some(3600),
                    from: Some("dispatched"),
                    from_armed: 0,
                },
                "times from dispatch",
            ),
            (
                vec![&a, &b],
                Spread {
                    count: 2,
                    median_s: Some(600),
                    p90_s: Some(2700),
                    from: Some("mixed"),
                    from_armed: 1,
                },
                Spread {
                    count: 2,
                    median_s: Some(3600),
                    p90_s: Some(8100),
                    from: Some("mixed"),
                    from_armed: 1,
                },
                "times from the arming for to PR 1 of 2 and to merge 1 of 2, else from dispatch",
            ),
            (
                vec![],
                Spread::default(),
                Spread::default(),
                "times from dispatch",
            ),
        ];
        for (i, (runs, pr, merge, text)) in table.iter().enumerate() {
            let f = figures(runs, 0.5);
            assert_eq!(&f.to_pr, pr, "case {i}");
            assert_eq!(&f.to_merge, merge, "case {i}");
            assert_eq!(from_text(&f), *text, "case {i}");
        }
    }

    #[test]
    fn report_groups_the_windows_runs_by_repo_and_overall() {
        let day = std::time::Duration::from_secs(86_400);
        let now = at(0);
        let old = merged(
            "acme/old",
            -2 * 1440,
            -2 * 1440 + 5,
            -2 * 1440 + 9,
            1,
            Some(9.0),
        );
        let a = merged("acme/web", -60, -50, -10, 1, Some(1.0));
        let b = escalated("acme/api", -30, Some("stalled"), None);
        let future = merged("acme/api", 5, 6, 7, 1, None);
        let r = report(&[old, a, b, future], day, now, 0.5);
        assert_eq!(r.since, "1d");
        assert_eq!(r.from, "2026-04-30T00:00:00Z");
        assert_eq!(r.to, "2026-05-01T00:00:00Z");
        assert_eq!(r.overall.runs, 2);
        let repos: Vec<(&str, usize)> = r
            .repos
            .iter()
            .map(|x| (x.repo.as_str(), x.figures.runs))
            .collect();
        assert_eq!(repos, [("acme/api", 1), ("acme/web", 1)]);
        assert_eq!(r.repos[1].figures.to_merge.median_s, Some(3000));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["repos"][0]["repo"], "acme/api");
        assert_eq!(json["repos"][0]["escalations"]["stalled"], 1);
        assert_eq!(json["overall"]["to_pr"]["median_s"], 600);
        assert!(json["repos"][0]["to_pr"]["median_s"].is_null());
    }

    #[test]
    fn zero_touch_and_survival_count_the_merged_runs_pooled_by_lines() {
        let with = |z: Option<ZeroTouch>, s: Option<(u64, u64)>| RunFacts {
            board: Default::default(),
            zero_touch: z,
            survival: s.map(|(a, k)| Survived::of(a, k)),
            template: Some(("implementer".into(), 2)),
            ..merged("acme/api", 0, 10, 60, 1, None)
        };
        let runs = [
            with(Some(ZeroTouch::Yes), Some((10, 6))),
            with(Some(ZeroTouch::Not(Touched::Commit)), Some((90, 9))),
            with(
                Some(ZeroTouch::Not(Touched::ChangesRequested)),
                Some((0, 0)),
            ),
            with(None, None),
            // not merged: counted in neither
            RunFacts {
                board: Default::default(),
                zero_touch: Some(ZeroTouch::Yes),
                survival: Some(Survived::of(5, 5)),
                ..escalated("acme/api", 0, None, None)
            },
        ];
        let f = figures(&runs.iter().collect::<Vec<_>>(), 0.5);
        assert_eq!(
            f.zero_touch,
            ZeroTouchFigures {
                merged: 4,
                count: 1,
                rate: Some(0.333333),
                unknown: 1,
                not: NotZeroTouch {
                    commit: 1,
                    changes_requested: 1
                },
            },
            "the rate is over the merged runs with a verdict"
        );
        assert_eq!(
            (f.survival.runs, f.survival.pending, f.survival.no_lines),
            (2, 1, 1)
        );
        // pooled: 15 of 100 lines, not the mean of 60% and 10%
        assert_eq!(f.survival.rate, Some(0.15));
        assert_eq!(zero_touch_text(&f.zero_touch), "1/3");
        assert_eq!(survival_text(&f.survival), "15% of 100 lines");
        // nothing measured: none, never 0
        let only_unknown = figures(&[&runs[3]], 0.5);
        assert_eq!(only_unknown.zero_touch.rate, None);
        assert_eq!(zero_touch_text(&only_unknown.zero_touch), "none");
        assert_eq!(survival_text(&only_unknown.survival), "pending");
        assert_eq!(survival_text(&figures(&[], 0.5).survival), "none");
    }

    #[test]
    fn report_lists_each_template_version_by_name_then_version() {
        let now = at(0);
        let v = |name: &str, version: i64| RunFacts {
            board: Default::default(),
            template: Some((name.into(), version)),
            ..merged("acme/api", -60, -50, -10, 1, None)
        };
        let runs = [
            v("reviewer", 1),
            v("implementer", 2),
            v("implementer", 1),
            v("implementer", 2),
            merged("acme/api", -60, -50, -10, 1, None),
        ];
        let r = report(&runs, std::time::Duration::from_secs(86_400), now, 0.5);
        let got: Vec<(&str, i64, usize)> = r
            .templates
            .iter()
            .map(|t| (t.template.as_str(), t.version, t.figures.runs))
            .collect();
        assert_eq!(
            got,
            [
                ("implementer", 1, 1),
                ("implementer", 2, 2),
                ("reviewer", 1, 1)
            ],
            "a run without a version is in no entry"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["templates"][1]["zero_touch"]["merged"], 2);
        assert!(json["overall"]["survival"]["rate"].is_null());
        assert_eq!(json["overall"]["survival"]["window"], "30d");
    }

    #[test]
    fn duration_text_names_the_two_largest_units() {
        let table = [
            (0, "0s"),
            (59, "59s"),
            (61, "1m1s"),
            (3600, "1h0m"),
            (3 * 3600 + 5 * 60 + 9, "3h5m"),
            (2 * 86_400 + 4 * 3600, "2d4h"),
        ];
        for (s, want) in table {
            assert_eq!(duration_text(s), want, "{s}");
        }
        assert_eq!(
            spread_text(&Spread {
                count: 2,
                median_s: Some(600),
                p90_s: Some(3700),
                ..Spread::default()
            }),
            "10m0s / 1h1m"
        );
    }
}
