//! The figures the published agent leaderboards use, so a team can set its
//! own afk beside them (docs/reports.md#compared-with-published-figures):
//! reverts per 1,000 merged runs, 7-day file churn, review rounds to merge
//! and the cost per merged-and-kept run. Pure, over the same window's runs
//! as the rest of `report` (dispatched in it); what harvest found in afk's
//! git cache arrives as plain values in [`BoardFacts`].
//!
//! The rules, stated once:
//! - **reverts**: a merged run counts as reverted when harvest found a later
//!   commit of its base branch whose diff undoes its merge, whoever made it,
//!   whenever it was found (`churn`'s rule); a revert the canary's watch took
//!   on a trusted author's word alone is not one here;
//!   `per_1000` = 1000 × count / merged, two decimals, `None` with no merged
//!   run.
//! - **churn**: pooled over the merged runs harvest counted: Σ changed
//!   again / Σ files; a merged run not counted yet is `pending`; `None` with
//!   no counted file.
//! - **review rounds**: per merged run, its corrective turns a trusted
//!   person asked for (`review`: a change request, line comments or a reply,
//!   taken together in one turn; `asked`: a command such as `fix`) that
//!   started before the merge; median and p90 by nearest rank, and how many
//!   merged with none.
//! - **cost per kept run**: what every run of the window spent (whatever its
//!   end) over the merged runs that were not reverted and, where line
//!   survival was counted, kept at least `kept_floor` of their added lines;
//!   `None` with no kept run.

use super::report::{Outcome, RunFacts, nearest_rank, outcome_of};
use crate::churn::Churned;
use serde::Serialize;
use time::OffsetDateTime;

/// `[report] kept_floor` unless set.
pub const DEFAULT_KEPT_FLOOR: f64 = 0.5;

/// The turn reasons that are a review round (`run_state::Action::reason`).
const ROUND_REASONS: [&str; 2] = ["review", "asked"];

/// What harvest recorded of a run for these figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoardFacts {
    pub run_id: i64,
    /// the commit whose diff undoes its merge and when it landed
    pub revert: Option<(String, Option<OffsetDateTime>)>,
    /// its 7-day churn, once counted
    pub churn: Option<Churned>,
    /// each recorded corrective turn's start, beside `RunFacts::turn_reasons`
    pub turn_starts: Vec<Option<OffsetDateTime>>,
}

/// One reverted run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevertOf {
    pub run_id: i64,
    pub sha: String,
    /// when the revert landed (RFC 3339), when known
    pub at: Option<String>,
}

/// Reverts per 1,000 merged runs.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Reverts {
    pub count: usize,
    pub merged: usize,
    pub per_1000: Option<f64>,
    pub runs: Vec<RevertOf>,
}

/// 7-day file churn, pooled by files.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Churn {
    /// merged runs counted
    pub runs: usize,
    pub files: u64,
    pub changed_again: u64,
    pub rate: Option<f64>,
    /// merged runs whose 7 days have not passed (or not yet counted)
    pub pending: usize,
    /// of `changed_again`, the files another afk run's merge changed
    pub by_afk: u64,
}

/// Review rounds to merge, over the merged runs.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Rounds {
    pub runs: usize,
    pub median: Option<i64>,
    pub p90: Option<i64>,
    /// merged with no round
    pub zero: usize,
}

/// Cost per merged-and-kept run.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Cost {
    /// every run of the window
    pub spend_usd: f64,
    pub kept: usize,
    pub per_kept_usd: Option<f64>,
    /// the share of its added lines a run must have kept
    pub kept_floor: f64,
}

/// The four figures over one set of runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Board {
    pub reverts: Reverts,
    pub churn: Churn,
    pub review_rounds: Rounds,
    pub cost: Cost,
}

/// Whether a run's merge counts as reverted here: harvest found a commit
/// whose diff undoes it, whoever made it. The canary's own rule also takes
/// a trusted author's word (`RunFacts::reverted`); these figures do not.
pub fn reverted(r: &RunFacts) -> bool {
    r.board.revert.is_some()
}

/// A merged run's review rounds: its corrective turns a person asked for
/// that started before the merge (a start or merge not known: counted).
pub(crate) fn rounds_of(r: &RunFacts) -> i64 {
    r.turn_reasons
        .iter()
        .enumerate()
        .filter(|(_, reason)| ROUND_REASONS.contains(&reason.as_str()))
        .filter(|(i, _)| {
            let start = r.board.turn_starts.get(*i).copied().flatten();
            match (start, r.merged_at) {
                (Some(s), Some(m)) => s < m,
                _ => true,
            }
        })
        .count() as i64
}

/// Whether a merged run was kept: not reverted and, where its survival was
/// counted, at least `floor` of its added lines kept.
pub fn kept(r: &RunFacts, floor: f64) -> bool {
    if reverted(r) {
        return false;
    }
    match r.survival {
        Some(s) if s.lines_added > 0 => {
            s.lines_surviving.min(s.lines_added) as f64 >= floor * s.lines_added as f64
        }
        _ => true,
    }
}

/// The four figures over `runs` (the rules: the module's header);
/// `spend_usd`: what they all spent.
pub fn board(runs: &[&RunFacts], spend_usd: f64, kept_floor: f64) -> Board {
    let mut b = Board::default();
    let mut rounds = vec![];
    for r in runs
        .iter()
        .filter(|r| outcome_of(r.state) == Outcome::Succeeded)
    {
        b.reverts.merged += 1;
        if reverted(r) {
            b.reverts.count += 1;
            let (sha, at) = r.board.revert.clone().unwrap_or_default();
            b.reverts.runs.push(RevertOf {
                run_id: r.board.run_id,
                sha,
                at: at.map(crate::types::stamp::ts),
            });
        }
        match r.board.churn {
            Some(c) => {
                b.churn.runs += 1;
                b.churn.files += c.files;
                b.churn.changed_again += c.changed_again.min(c.files);
                b.churn.by_afk += c.by_afk.min(c.changed_again);
            }
            None => b.churn.pending += 1,
        }
        rounds.push(rounds_of(r));
        b.cost.kept += usize::from(kept(r, kept_floor));
    }
    let merged = b.reverts.merged;
    b.reverts.per_1000 = (merged > 0).then(|| two(1000.0 * b.reverts.count as f64 / merged as f64));
    b.churn.rate = (b.churn.files > 0)
        .then(|| (b.churn.changed_again as f64 / b.churn.files as f64 * 1e6).round() / 1e6);
    rounds.sort_unstable();
    b.review_rounds = Rounds {
        runs: rounds.len(),
        median: nearest_rank(&rounds, 50),
        p90: nearest_rank(&rounds, 90),
        zero: rounds.iter().filter(|n| **n == 0).count(),
    };
    b.cost.spend_usd = crate::budget::spend::round(spend_usd);
    b.cost.kept_floor = kept_floor;
    b.cost.per_kept_usd =
        (b.cost.kept > 0).then(|| crate::budget::spend::round(spend_usd / b.cost.kept as f64));
    b
}

fn two(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Reverts per 1,000 for people: `1.19`, or `none` (nothing merged).
pub fn per_1000_text(r: &Reverts) -> String {
    r.per_1000
        .map_or_else(|| "none".into(), |x| format!("{x:.2}"))
}

/// Churn for people: `8.1% of 12 files`, `pending`, or `none`.
pub fn churn_text(c: &Churn) -> String {
    match c.rate {
        Some(r) => format!(
            "{}% of {}",
            (r * 1000.0).round() / 10.0,
            crate::plural(c.files as usize, "file", "files")
        ),
        None if c.pending > 0 => "pending".into(),
        None => "none".into(),
    }
}

/// Review rounds for people: `1 / 3` (median / p90), or `none`.
pub fn rounds_text(r: &Rounds) -> String {
    match (r.median, r.p90) {
        (Some(m), Some(p)) => format!("{m} / {p}"),
        _ => "none".into(),
    }
}

/// Cost per kept run for people: `$3.20`, or `none`.
pub fn per_kept_text(c: &Cost) -> String {
    c.per_kept_usd
        .map_or_else(|| "none".into(), crate::budget::spend::usd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survival::Survived;
    use crate::types::RunStatus;
    use time::macros::datetime;

    fn run(id: i64, state: RunStatus, spend: f64) -> RunFacts {
        RunFacts {
            repo: "acme/api".into(),
            state,
            armed_at: None,
            dispatched_at: Some(datetime!(2026-05-01 10:00 UTC)),
            pr_at: None,
            merged_at: Some(datetime!(2026-05-01 12:00 UTC)),
            ended_at: None,
            turns: 1,
            turn_reasons: vec![],
            spend_usd: Some(spend),
            end_reason: None,
            reverted: false,
            zero_touch: None,
            survival: None,
            template: None,
            board: BoardFacts {
                run_id: id,
                ..BoardFacts::default()
            },
        }
    }

    /// The published definitions over a small history: one revert in three
    /// merges is 333.33 per 1,000; churn pools files and leaves a run inside
    /// its 7 days pending; rounds count the asked turns before the merge;
    /// the escalated run's spend counts in the cost of the kept ones.
    #[test]
    fn the_leaderboard_figures_follow_their_published_definitions() {
        let mut a = run(1, RunStatus::Succeeded, 2.0);
        a.board.churn = Some(Churned {
            files: 4,
            changed_again: 1,
            by_afk: 1,
        });
        a.turns = 4;
        a.turn_reasons = vec!["review".into(), "ci-red".into(), "asked".into()];
        a.board.turn_starts = vec![
            Some(datetime!(2026-05-01 11:00 UTC)),
            Some(datetime!(2026-05-01 11:10 UTC)),
            Some(datetime!(2026-05-01 11:20 UTC)),
        ];
        let mut b = run(2, RunStatus::Succeeded, 1.0);
        b.board.revert = Some(("ab".repeat(20), Some(datetime!(2026-05-21 12:00 UTC))));
        b.board.churn = Some(Churned {
            files: 6,
            changed_again: 2,
            by_afk: 0,
        });
        // a round after the merge is none
        b.turn_reasons = vec!["review".into()];
        b.board.turn_starts = vec![Some(datetime!(2026-05-01 13:00 UTC))];
        let mut c = run(3, RunStatus::Succeeded, 1.0);
        // kept 1 of 4 added lines: under the floor
        c.survival = Some(Survived::of(4, 1));
        let d = run(4, RunStatus::Escalated, 4.0);
        let all = [&a, &b, &c, &d];
        let got = board(&all, 8.0, DEFAULT_KEPT_FLOOR);
        assert_eq!(
            got.reverts,
            Reverts {
                count: 1,
                merged: 3,
                per_1000: Some(333.33),
                runs: vec![RevertOf {
                    run_id: 2,
                    sha: "ab".repeat(20),
                    at: Some("2026-05-21T12:00:00Z".into()),
                }],
            }
        );
        assert_eq!(
            got.churn,
            Churn {
                runs: 2,
                files: 10,
                changed_again: 3,
                rate: Some(0.3),
                pending: 1,
                by_afk: 1,
            }
        );
        assert_eq!(
            got.review_rounds,
            Rounds {
                runs: 3,
                median: Some(0),
                p90: Some(2),
                zero: 2,
            }
        );
        assert_eq!(
            got.cost,
            Cost {
                spend_usd: 8.0,
                kept: 1,
                per_kept_usd: Some(8.0),
                kept_floor: 0.5,
            }
        );
        // with a lower floor the third run is kept too
        assert_eq!(board(&all, 8.0, 0.25).cost.kept, 2);
    }

    /// A figure with nothing to measure is none or pending, never 0.
    #[test]
    fn a_figure_not_measurable_yet_is_pending_or_none_never_0() {
        let none = board(&[], 0.0, DEFAULT_KEPT_FLOOR);
        assert_eq!(per_1000_text(&none.reverts), "none");
        assert_eq!(churn_text(&none.churn), "none");
        assert_eq!(rounds_text(&none.review_rounds), "none");
        assert_eq!(per_kept_text(&none.cost), "none");
        let fresh = run(1, RunStatus::Succeeded, 1.0);
        let one = board(&[&fresh], 1.0, DEFAULT_KEPT_FLOOR);
        assert_eq!(churn_text(&one.churn), "pending");
        assert_eq!(one.churn.rate, None);
        assert_eq!(per_1000_text(&one.reverts), "0.00");
        assert_eq!(rounds_text(&one.review_rounds), "0 / 0");
        assert_eq!(per_kept_text(&one.cost), "$1.00");
        let mut counted = fresh.clone();
        counted.board.churn = Some(Churned {
            files: 3,
            changed_again: 1,
            by_afk: 0,
        });
        assert_eq!(
            churn_text(&board(&[&counted], 1.0, 0.5).churn),
            "33.3% of 3 files"
        );
    }
}
