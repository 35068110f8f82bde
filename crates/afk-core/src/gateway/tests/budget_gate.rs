//! The budget gate: the limits, the turn's day, the earlier spend, a raise on a running run.

use super::*;

fn gate(run_usd: f64, day_usd: f64, repo_day_usd: f64) -> Gate {
    Gate {
        limits: MoneyLimits {
            run_usd,
            day: DayLimits {
                day_usd,
                repo_day_usd,
            },
        },
        run_before: 400_000,
        run_before_day: None,
        day_others: 2_000_000,
        repo_day_others: 1_000_000,
    }
}

/// A turn's day counts the run's turns started on it, not the run's whole
/// spend: a continuation the day after a pause at the day's cap starts its
/// day at the run's spend of that day ($0.00), its run limit at the run's
/// whole spend.
#[test]
fn the_gate_counts_toward_a_turns_day_only_the_runs_turns_started_that_day() {
    // (the run's spend that day, turn's spend, refused by)
    let table = [
        // the old shape: the whole run counts toward the day
        (None, 0, Some("day_usd")),
        // a new day: the run's earlier days do not count
        (Some(0), 0, None),
        (Some(0), 2_999_999, None),
        (Some(0), 3_000_000, Some("day_usd")),
        (Some(500_000), 2_500_000, Some("day_usd")),
    ];
    for (run_day, turn, want) in table {
        let g = Gate {
            run_before: 4_000_000,
            run_before_day: run_day,
            day_others: 2_000_000,
            repo_day_others: 0,
            ..gate(10.0, 5.0, 0.0)
        };
        assert_eq!(
            g.check(turn).err().map(|r| r.limit),
            want,
            "{run_day:?} +{turn}"
        );
    }
    let g = Gate {
        run_before: 4_000_000,
        run_before_day: Some(0),
        ..gate(10.0, 5.0, 0.0)
    };
    // AFK_BUDGET_USD: the smaller of the run's $6.00 and the day's $3.00 left
    assert_eq!(g.left(), Some(3.0));
}

#[test]
fn the_budget_gate_refuses_at_or_over_a_limit() {
    // (gate, turn's spend, refused by)
    let cases = [
        (gate(0.0, 0.0, 0.0), 1_000_000_000, None),
        (gate(1.0, 0.0, 0.0), 599_999, None),
        (gate(1.0, 0.0, 0.0), 600_000, Some("run_usd")),
        (gate(1.0, 0.0, 0.0), 700_000, Some("run_usd")),
        // the repo's day: 1.0 others + 0.4 earlier + the turn
        (gate(0.0, 0.0, 2.0), 599_999, None),
        (gate(0.0, 0.0, 2.0), 600_000, Some("repo_day_usd")),
        // the day: 2.0 others + 0.4 + the turn
        (gate(0.0, 3.0, 0.0), 600_000, Some("day_usd")),
        (gate(0.0, 3.0, 0.0), 500_000, None),
        // the run's limit is named first
        (gate(1.0, 3.0, 2.0), 600_000, Some("run_usd")),
    ];
    for (g, turn, want) in cases {
        let got = g.check(turn).err();
        assert_eq!(got.as_ref().map(|r| r.limit), want, "{g:?} {turn}");
        if let Some(r) = got {
            let line = r.line();
            assert!(line.contains(&format!("budget.{}", r.limit)), "{line}");
            let a: serde_json::Value = serde_json::from_str(&r.body(Api::Anthropic)).unwrap();
            assert_eq!(a["error"]["type"], "rate_limit_error");
            assert!(a["error"]["message"].as_str().unwrap().contains("budget."));
            let o: serde_json::Value = serde_json::from_str(&r.body(Api::OpenAi)).unwrap();
            assert!(o["error"]["message"].as_str().unwrap().contains("budget."));
        }
    }
}

#[test]
fn a_turns_gate_counts_the_runs_earlier_spend_and_its_days_other_runs_and_names_the_limit_hit() {
    use crate::budget::spend::{DayRun, money_left};
    use time::macros::datetime;
    let at = datetime!(2025-03-04 10:00 UTC);
    let run = DayRun {
        repo: "acme/api",
        dispatched_at: at,
        spend_usd: Some(0.40),
    };
    let others = [
        // the same day, the same repository
        DayRun {
            repo: "acme/api",
            dispatched_at: datetime!(2025-03-04 01:00 UTC),
            spend_usd: Some(1.00),
        },
        // the same day, another repository
        DayRun {
            repo: "acme/web",
            dispatched_at: datetime!(2025-03-04 23:00 UTC),
            spend_usd: Some(2.00),
        },
        // another day: not counted
        DayRun {
            repo: "acme/api",
            dispatched_at: datetime!(2025-03-03 23:59 UTC),
            spend_usd: Some(50.0),
        },
    ];
    let limits = |run_usd, day_usd, repo_day_usd| MoneyLimits {
        run_usd,
        day: DayLimits {
            day_usd,
            repo_day_usd,
        },
    };
    assert_eq!(Gate::of(limits(0.0, 0.0, 0.0), &run, &others), None);
    let g = Gate::of(limits(1.0, 4.0, 2.0), &run, &others).unwrap();
    assert_eq!(
        (g.run_before, g.day_others, g.repo_day_others),
        (400_000, 3_000_000, 1_000_000)
    );
    // (limits, the turn's metered spend, the limit named, its figure, the spend it counts)
    let table = [
        (limits(1.0, 0.0, 0.0), 599_999, None),
        (limits(1.0, 0.0, 0.0), 600_000, Some(("run_usd", 1.0, 1.0))),
        (
            limits(0.0, 0.0, 1.5),
            100_000,
            Some(("repo_day_usd", 1.5, 1.5)),
        ),
        (limits(0.0, 0.0, 1.5), 99_999, None),
        (limits(0.0, 4.0, 0.0), 600_000, Some(("day_usd", 4.0, 4.0))),
        (limits(0.0, 4.0, 0.0), 599_999, None),
        // both reached: the run's limit is named first
        (limits(0.5, 3.0, 0.0), 200_000, Some(("run_usd", 0.5, 0.6))),
        // the repository's day and the day both reached: the repository's first
        (
            limits(5.0, 3.0, 1.5),
            200_000,
            Some(("repo_day_usd", 1.5, 1.6)),
        ),
    ];
    for (l, turn, want) in table {
        let g = Gate::of(l, &run, &others).unwrap();
        let got = g
            .check(turn)
            .err()
            .map(|r| (r.limit, r.limit_usd, r.spend_usd));
        if let (Some(w), Some(r)) = (want, got) {
            assert_eq!((r.0, r.1), (w.0, w.1), "{l:?} {turn}");
            assert!(
                (r.2 - w.2).abs() < 1e-9 || r.2 >= r.1,
                "{l:?} {turn}: {r:?}"
            );
        } else {
            assert_eq!(got.is_some(), want.is_some(), "{l:?} {turn}: {got:?}");
        }
        // what the agent is handed is what money_left says
        assert_eq!(g.left(), money_left(l, &run, &others), "{l:?}");
    }
}

/// A raise on a running run is in force from its next request; it only
/// raises, and sets no limit where the config has none.
#[test]
fn a_raise_on_a_running_run_is_in_force_from_its_next_request() {
    let with = |run_usd: f64| budget::Gate {
        limits: crate::budget::spend::MoneyLimits {
            run_usd,
            ..Default::default()
        },
        ..Default::default()
    };
    let table = [
        (2.0, Some(7.0), 7.0),
        (2.0, None, 2.0),
        (2.0, Some(1.0), 2.0),
        (0.0, Some(7.0), 0.0),
        (2.0, Some(f64::NAN), 2.0),
    ];
    for (limit, raise, want) in table {
        assert_eq!(
            budget::raised(with(limit), raise).limits.run_usd,
            want,
            "{limit} {raise:?}"
        );
    }
}

/// An agent that stops itself at what it was handed (`--max-budget-usd`,
/// the gate's `left`) stopped at the limit with the least room as its turn
/// started: a day's cap so reached pauses until midnight, not as the run's.
#[test]
fn an_agents_own_stop_is_at_the_limit_with_the_least_room_as_its_turn_started() {
    // (run_usd, day_usd, repo_day_usd) with $0.40 spent by the run, $2.00 by
    // the day's other runs, $1.00 by the repository's: the binding limit
    let table = [
        ((0.0, 0.0, 0.0), None),
        ((1.0, 0.0, 0.0), Some("run_usd")),
        ((0.0, 3.0, 0.0), Some("day_usd")),
        ((0.0, 0.0, 2.0), Some("repo_day_usd")),
        // run $0.60 left, day $0.60 left: a tie names the run's
        ((1.0, 3.0, 0.0), Some("run_usd")),
        // run $0.60 left, day $0.10 left
        ((1.0, 2.5, 0.0), Some("day_usd")),
        // run $5.60, repository's day $0.10, day $2.10
        ((6.0, 4.5, 1.5), Some("repo_day_usd")),
        // a day already over its cap: no room, the day's
        ((6.0, 2.0, 0.0), Some("day_usd")),
    ];
    for ((run_usd, day_usd, repo_day_usd), want) in table {
        let g = gate(run_usd, day_usd, repo_day_usd);
        assert_eq!(g.binding(), want, "{run_usd} {day_usd} {repo_day_usd}");
        // the refusal at exactly what was handed names the same limit
        if let (Some(want), Some(left)) = (want, g.left()) {
            let at = super::super::prices::micro(left);
            assert_eq!(g.check(at).err().map(|r| r.limit), Some(want));
        }
    }
}

#[test]
fn a_turns_start_record_reads_back_and_nothing_else_does() {
    let t = budget::TurnStart {
        turn: 3,
        log_from: 81_920,
        gate: Some(gate(1.0, 3.0, 0.0)),
    };
    assert_eq!(budget::TurnStart::from_record(&t.to_record()), Some(t));
    for bad in [
        "",
        "{}",
        "{\"turn\":-1,\"log_from\":0,\"gate\":null}",
        "[1]",
    ] {
        assert_eq!(budget::TurnStart::from_record(bad), None, "{bad}");
    }
}
