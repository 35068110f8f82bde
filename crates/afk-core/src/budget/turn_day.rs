//! The day, counted by turns: a turn's spend counts toward the UTC day the
//! turn **started** (a turn that runs past midnight counts whole toward its
//! first day), so a run paused by a day's cap is continued on the next day
//! against the next day's cap. A run dispatched and finished in one day
//! counts as it always did. And when a day's cap opens again: the next 00:00
//! UTC. Pure: a run's turns and its spend in, the day's entries out.

use crate::budget::spend::{DayRun, day_of, round};
use time::OffsetDateTime;

/// One turn of a run as the day's budget counts it: when it started, and
/// what it spent where a figure of its own is known (None: the run's spend
/// not yet split to it, the turn in flight).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnSpend {
    pub started_at: OffsetDateTime,
    pub usd: Option<f64>,
}

/// A run's entries in the day's book (`spend::day_spend` reads them): one
/// per UTC day a turn of it started, each with the spend of the turns
/// started that day, dated by the first of them. Each turn's own figure
/// counts toward its start day, up to what of the run's total is left (the
/// days never add up to more than the run spent); what the run spent
/// beyond the turns' own figures (the turn in flight, read as the run's
/// total) counts toward its last turn's day. With no turn recorded, the run counts whole toward the
/// day it was dispatched (the old rule, which it equals for one day's run).
/// A run that reported nothing yet (`total` None) is one unreported entry
/// per day.
pub fn turn_days<'a>(
    repo: &'a str,
    dispatched_at: OffsetDateTime,
    total: Option<f64>,
    turns: &[TurnSpend],
) -> Vec<DayRun<'a>> {
    let mut turns: Vec<TurnSpend> = turns.to_vec();
    turns.sort_by_key(|t| t.started_at);
    let Some(last) = turns.last().copied() else {
        return vec![DayRun {
            repo,
            dispatched_at,
            spend_usd: total,
        }];
    };
    let mut out: Vec<DayRun<'a>> = vec![];
    // what of the run's spend is not split yet: a turn's figure counts up
    // to it, so the days never add up to more than the run spent (a
    // metered total under the agent's own figures)
    let mut left = total.filter(|x| x.is_finite()).unwrap_or(0.0).max(0.0);
    for t in &turns {
        let usd = total.map(|_| {
            let figure = t.usd.filter(|x| x.is_finite()).unwrap_or(0.0);
            let u = figure.clamp(0.0, left);
            left -= u;
            u
        });
        match out
            .iter_mut()
            .find(|d| day_of(d.dispatched_at) == day_of(t.started_at))
        {
            Some(d) => d.spend_usd = add(d.spend_usd, usd),
            None => out.push(DayRun {
                repo,
                dispatched_at: t.started_at,
                spend_usd: usd,
            }),
        }
    }
    // the rest of the run's spend: its last turn's, still being read
    let rest = total.map(|_| left.max(0.0));
    if let Some(d) = out
        .iter_mut()
        .find(|d| day_of(d.dispatched_at) == day_of(last.started_at))
    {
        d.spend_usd = add(d.spend_usd, rest).map(round);
    }
    for d in &mut out {
        d.spend_usd = d.spend_usd.map(round);
    }
    out
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    }
}

/// What of a run's spend before its next turn counts toward that turn's
/// day (`at`, when it starts): its entry for the day in [`turn_days`], 0
/// when no turn of it started that day (a continuation on the day after a
/// pause at the day's cap starts the new day at $0.00).
pub fn spent_on_day(entries: &[DayRun], at: OffsetDateTime) -> f64 {
    entries
        .iter()
        .filter(|d| day_of(d.dispatched_at) == day_of(at))
        .filter_map(|d| d.spend_usd)
        .sum()
}

/// The next 00:00 UTC after `t`: when a day's cap opens again, the `until`
/// of a pause at `day_usd` or `repo_day_usd`.
pub fn next_midnight(t: OffsetDateTime) -> OffsetDateTime {
    let day = day_of(t);
    let next = day.next_day().unwrap_or(day);
    next.midnight().assume_utc()
}

/// A pause at a day's cap that began at `since` may continue at `now`: a
/// UTC midnight came between (the first tick at or after 00:00 UTC).
pub fn day_reopened(since: OffsetDateTime, now: OffsetDateTime) -> bool {
    now >= next_midnight(since)
}

/// The order a watch tick takes its runs in (several paused runs continue at
/// the same tick, oldest first): the runs paused at a day's cap one by one,
/// oldest (lowest id) first, so that at the first tick after midnight their
/// continuations start in that order; then every other run, fanned out.
/// `runs`: each run's id (None: unreadable) and the limit it is paused at
/// (None: not paused). Returns (one by one, fanned out), indexes into
/// `runs`, the fanned out ones in their given order.
pub fn watch_order<I: Ord + Copy>(runs: &[(Option<I>, Option<&str>)]) -> (Vec<usize>, Vec<usize>) {
    let day = |l: Option<&str>| l.and_then(super::Limit::parse).is_some_and(|l| l.is_day());
    let (mut first, rest): (Vec<usize>, Vec<usize>) =
        (0..runs.len()).partition(|&i| runs[i].0.is_some() && day(runs[i].1));
    first.sort_by_key(|&i| runs[i].0);
    (first, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (the runs' (id, paused limit), (the ones watched one by one, the rest))
    type OrderCase<'a> = (
        &'a [(Option<u32>, Option<&'a str>)],
        (Vec<usize>, Vec<usize>),
    );

    #[test]
    fn several_paused_runs_continue_at_the_same_tick_oldest_first() {
        let cases: [OrderCase; 6] = [
            (&[], (vec![], vec![])),
            // nobody paused at a day's cap: all fan out, as given
            (
                &[(Some(3), None), (Some(1), Some("run_usd"))],
                (vec![], vec![0, 1]),
            ),
            // two at the day's cap: the older first, whatever the rows' order
            (
                &[
                    (Some(7), Some("day_usd")),
                    (Some(2), None),
                    (Some(4), Some("day_usd")),
                ],
                (vec![2, 0], vec![1]),
            ),
            // the repository's day too
            (
                &[(Some(9), Some("repo_day_usd")), (Some(5), Some("day_usd"))],
                (vec![1, 0], vec![]),
            ),
            // an unreadable row fans out (its error reported as ever)
            (&[(None, Some("day_usd"))], (vec![], vec![0])),
            // time and an unknown limit are no day's cap
            (
                &[(Some(1), Some("run_time")), (Some(2), Some("weekly"))],
                (vec![], vec![0, 1]),
            ),
        ];
        for (i, (runs, want)) in cases.into_iter().enumerate() {
            assert_eq!(watch_order(runs), want, "case {i}");
        }
    }
    use crate::budget::spend::day_spend;
    use time::macros::{date, datetime};

    fn turn(at: OffsetDateTime, usd: Option<f64>) -> TurnSpend {
        TurnSpend {
            started_at: at,
            usd,
        }
    }

    #[test]
    fn a_turns_spend_counts_toward_the_utc_day_the_turn_started() {
        let d1 = datetime!(2026-11-27 10:00 UTC);
        let late = datetime!(2026-11-27 23:50 UTC);
        let d2 = datetime!(2026-11-28 00:05 UTC);
        let (day1, day2) = (date!(2026 - 11 - 27), date!(2026 - 11 - 28));
        // (total, turns, the day's spend on day 1 and day 2, runs counted each day)
        type Case = (Option<f64>, Vec<TurnSpend>, (f64, f64), (usize, usize));
        let table: Vec<Case> = vec![
            // no turn recorded: the dispatch day, whole (the old rule)
            (Some(3.0), vec![], (3.0, 0.0), (1, 0)),
            // one day's run: as before
            (
                Some(3.0),
                vec![turn(d1, Some(1.0)), turn(late, None)],
                (3.0, 0.0),
                (1, 0),
            ),
            // a turn past midnight counts whole toward its first day
            (Some(2.5), vec![turn(late, None)], (2.5, 0.0), (1, 0)),
            // a continuation the next day counts toward the next day
            (
                Some(3.5),
                vec![turn(d1, Some(2.0)), turn(d2, None)],
                (2.0, 1.5),
                (1, 1),
            ),
            (
                Some(3.5),
                vec![
                    turn(d1, Some(1.0)),
                    turn(late, Some(1.0)),
                    turn(d2, Some(1.5)),
                ],
                (2.0, 1.5),
                (1, 1),
            ),
            // turns' figures never count twice: the rest is the last turn's
            (
                Some(2.0),
                vec![turn(d1, Some(2.0)), turn(d2, None)],
                (2.0, 0.0),
                (1, 1),
            ),
            // the turns' figures over the run's total (a metered total
            // under the agent's word): the days add up to the total
            (
                Some(2.0),
                vec![turn(d1, Some(3.0)), turn(d2, None)],
                (2.0, 0.0),
                (1, 1),
            ),
            (
                Some(2.0),
                vec![turn(d1, Some(1.5)), turn(late, Some(1.5))],
                (2.0, 0.0),
                (1, 0),
            ),
            // nothing reported yet: unreported on each day, $0.00
            (
                None,
                vec![turn(d1, None), turn(d2, None)],
                (0.0, 0.0),
                (1, 1),
            ),
        ];
        for (i, (total, turns, (want1, want2), (runs1, runs2))) in table.into_iter().enumerate() {
            let days = turn_days("acme/api", d1, total, &turns);
            let s1 = day_spend(&days, day1, None);
            let s2 = day_spend(&days, day2, Some("acme/api"));
            assert_eq!((s1.spend_usd, s2.spend_usd), (want1, want2), "case {i}");
            assert_eq!((s1.runs, s2.runs), (runs1, runs2), "case {i}");
            assert_eq!(spent_on_day(&days, d1), want1, "case {i}");
            assert_eq!(spent_on_day(&days, d2), want2, "case {i}");
            if total.is_none() {
                assert_eq!(s1.unreported + s2.unreported, 2, "case {i}");
            }
        }
    }

    #[test]
    fn a_days_cap_opens_again_at_the_next_midnight_utc() {
        let table = [
            (
                datetime!(2026-11-27 14:03 UTC),
                datetime!(2026-11-27 23:59:59 UTC),
                false,
            ),
            (
                datetime!(2026-11-27 14:03 UTC),
                datetime!(2026-11-28 00:00 UTC),
                true,
            ),
            (
                datetime!(2026-11-27 14:03 UTC),
                datetime!(2026-11-29 08:00 UTC),
                true,
            ),
            // a pause at 00:00 itself waits for the next midnight
            (
                datetime!(2026-11-28 00:00 UTC),
                datetime!(2026-11-28 12:00 UTC),
                false,
            ),
            // another offset is the same moment
            (
                datetime!(2026-11-27 20:00 -05:00),
                datetime!(2026-11-28 00:30 UTC),
                false,
            ),
        ];
        for (since, now, want) in table {
            assert_eq!(day_reopened(since, now), want, "{since} → {now}");
        }
        assert_eq!(
            next_midnight(datetime!(2026-11-27 14:03 UTC)),
            datetime!(2026-11-28 00:00 UTC)
        );
    }
}
