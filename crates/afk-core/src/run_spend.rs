//! A run's spend, whoever measured it (docs/how-it-works.md#spend):
//! the model gateway's metered record when the run has one (its sum is the
//! run's spend, whatever the agent says), else the agent's own figure
//! (`spend::Ledger`); the agent's figure is kept beside the metered one, and
//! a difference over $0.01 and 1% is said once per change. Pure: the
//! record's bytes come in through `RunSpend::metered`.
//!
//! Kept apart from `spend` because it reads the gateway's record
//! (`gateway::metered`), and the gateway's budget gate reads `spend`'s limits.

use crate::budget::spend::{Figure, Ledger, Source};
use crate::gateway::metered::{Difference, Read, differs};
use crate::gateway::prices::micro;
use serde::{Deserialize, Serialize};

/// What a run has spent as read so far, stored with the run
/// (`runs.spend_ledger`, the ledger's keys and two more: an older ledger
/// reads as one with no metered record) and carried from tick to tick.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunSpend {
    /// The agent's own reports, as read so far.
    #[serde(flatten)]
    pub ledger: Ledger,
    /// The model gateway's metered record as read so far; None: the run has
    /// none (its turns did not go through the gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metered: Option<Read>,
    /// The difference between the two the run's log said last: said again
    /// only when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub said: Option<Difference>,
}

impl RunSpend {
    /// The stored form (JSON); [`RunSpend::from_stored`] reads it back.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The stored spend, or a fresh one when there is none (or it is unreadable).
    pub fn from_stored(text: Option<&str>) -> RunSpend {
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }

    /// What the run has spent: the metered sum when the run has a metered
    /// record (whatever its agent says), else the agent's own figure; None
    /// when neither says anything (unknown, not 0).
    pub fn spend(&self) -> Option<f64> {
        self.metered_usd().or_else(|| self.reported())
    }

    /// What the agent itself reported spending (`spend::Ledger::spend`).
    pub fn reported(&self) -> Option<f64> {
        self.ledger.spend()
    }

    /// The metered sum (the record's and its partial records', a request
    /// in flight counted by what arrived), to the micro-dollar; None: no
    /// metered record.
    pub fn metered_usd(&self) -> Option<f64> {
        self.metered.as_ref().map(|m| m.sum().usd())
    }

    /// The agent's figures and where each came from (all its word).
    pub fn figures(&self) -> Vec<Figure> {
        self.ledger.figures()
    }

    /// Where the run's figure comes from: the metered record when the run
    /// has one, else the sources of the agent's figures (each once, in order).
    pub fn spend_from(&self) -> Vec<Source> {
        if self.metered.is_some() {
            return vec![Source::Metered];
        }
        let mut from: Vec<Source> = vec![];
        for f in self.ledger.figures() {
            if !from.contains(&f.source) {
                from.push(f.source);
            }
        }
        from
    }

    /// The difference between the metered figure and the agent's own that is
    /// to be said in the run's log: there is one to say ([`differs`]) and it
    /// is not the one said last. Once said, [`RunSpend::said`] keeps it.
    pub fn unsaid_difference(&self) -> Option<Difference> {
        let metered = self.metered.as_ref()?.sum().micro_usd;
        let reported = micro(self.reported()?);
        let d = Difference { metered, reported };
        (differs(metered, reported) && self.said != Some(d)).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::spend::Meter;
    use time::macros::datetime;

    /// A run whose agent reported `reported` (a Claude result record) and,
    /// with `metered`, a metered record of one request per figure (micro-dollars).
    fn with(reported: Option<f64>, metered: Option<&[u64]>) -> RunSpend {
        use crate::gateway::metered::Line;
        let mut s = RunSpend::default();
        s.ledger.begin_turn(1);
        if let Some(x) = reported {
            let line = format!("{{\"type\":\"result\",\"total_cost_usd\":{x}}}\n");
            s.ledger
                .feed(&Meter::CUSTOM, "log", 7, 0, line.as_bytes(), false);
        }
        if let Some(lines) = metered {
            let mut m = Read::default();
            m.start(9, 0);
            for micro_usd in lines {
                let line = Line::new(
                    datetime!(2026-11-26 02:20:19 UTC),
                    crate::gateway::Api::Anthropic,
                    "claude-sonnet-4-6",
                    200,
                    Default::default(),
                    *micro_usd,
                    crate::gateway::prices::PricedBy::Table,
                    true,
                );
                m.tally.feed(line.to_line().as_bytes());
            }
            s.metered = Some(m);
        }
        s
    }

    #[test]
    fn the_runs_spend_is_the_metered_sum_when_it_has_a_record_and_the_agents_word_else() {
        type Case = (
            &'static str,
            Option<f64>,
            Option<&'static [u64]>,
            Option<f64>,
        );
        let cases: [Case; 6] = [
            ("no record: the agent's figure", Some(0.5), None, Some(0.5)),
            ("no record, no report: unknown", None, None, None),
            // a lying agent changes nothing
            (
                "the record wins over a lower report",
                Some(0.0042),
                Some(&[1_000_000, 440_000]),
                Some(1.44),
            ),
            (
                "and over a higher one",
                Some(3.0),
                Some(&[1_250_000]),
                Some(1.25),
            ),
            (
                "a record and no report",
                None,
                Some(&[123_456]),
                Some(0.123456),
            ),
            // the gateway was on and passed nothing: it spent nothing
            (
                "an empty record is $0, not unknown",
                Some(0.7),
                Some(&[]),
                Some(0.0),
            ),
        ];
        for (what, reported, metered, want) in cases {
            let s = with(reported, metered);
            assert_eq!(s.spend(), want, "{what}");
            assert_eq!(
                s.reported(),
                reported,
                "{what}: the agent's figure is kept beside"
            );
            // kept between ticks, and the ledger's own reading of it unchanged
            let stored = s.to_stored();
            assert_eq!(RunSpend::from_stored(Some(&stored)).spend(), want, "{what}");
            assert_eq!(
                Ledger::from_stored(Some(&stored)).spend(),
                reported,
                "{what}"
            );
        }
        assert_eq!(
            with(Some(0.5), Some(&[1])).spend_from(),
            vec![Source::Metered]
        );
        assert_eq!(with(Some(0.5), None).spend_from(), vec![Source::Claude]);
        // a ledger stored before the gateway reads as a run with no record
        let old = RunSpend::from_stored(Some("{\"turn\":1,\"turn_results_usd\":0.5}"));
        assert_eq!((old.spend(), old.metered_usd()), (Some(0.5), None));
    }

    /// A turn killed with a request in flight (watch's stop at `run_time`,
    /// `/afk stop`, the keeper killed) leaves its partial record: the run's
    /// spend counts what arrived of it, beside the record or alone.
    #[test]
    fn a_request_in_flight_when_its_turn_was_killed_counts_by_what_arrived() {
        use crate::gateway::{Api, aloft, metered::Line, prices::PricedBy};
        let partial = Line::new(
            datetime!(2026-11-26 02:20:19 UTC),
            Api::Anthropic,
            "claude-sonnet-4-6",
            200,
            crate::gateway::usage::Usage {
                input: 1_000_000,
                output: 1,
                ..Default::default()
            },
            3_000_015,
            PricedBy::Table,
            false,
        )
        .to_line();
        let in_flight = aloft::sum([partial.as_bytes()]);
        // (what, the agent's word, the record's lines, a partial record, spend)
        type Case = (
            &'static str,
            Option<f64>,
            Option<&'static [u64]>,
            bool,
            Option<f64>,
        );
        let cases: [Case; 4] = [
            (
                "beside the record",
                Some(0.5),
                Some(&[1_000_000]),
                true,
                Some(4.000015),
            ),
            (
                "alone: no request landed",
                Some(0.5),
                None,
                true,
                Some(3.000015),
            ),
            (
                "landed: the record alone",
                Some(0.5),
                Some(&[1_000_000]),
                false,
                Some(1.0),
            ),
            (
                "no gateway: the agent's word",
                Some(0.5),
                None,
                false,
                Some(0.5),
            ),
        ];
        for (what, reported, lines, has_partial, want) in cases {
            let mut s = with(reported, lines);
            if has_partial {
                s.metered.get_or_insert_with(Read::default).aloft = in_flight.clone();
            }
            assert_eq!(s.spend(), want, "{what}");
            let stored = s.to_stored();
            assert_eq!(
                RunSpend::from_stored(Some(&stored)).spend(),
                want,
                "{what}: kept"
            );
        }
        // the difference said counts it too
        let mut s = with(Some(0.5), None);
        s.metered = Some(Read {
            aloft: in_flight,
            ..Read::default()
        });
        assert_eq!(s.unsaid_difference().map(|d| d.metered), Some(3_000_015));
    }

    #[test]
    fn a_difference_over_a_cent_and_one_percent_is_said_once_per_change() {
        let cases = [
            // (metered, reported) micro-dollars
            ((1_440_000, 4_200), true),
            ((4_200, 1_440_000), true),
            ((1_000_000, 1_010_000), false), // exactly $0.01 and 1%
            ((1_000_000, 1_010_001), true),  // over both
            ((5_000_000, 5_040_000), false), // $0.04: under 1%
            ((100_000, 109_000), false),     // 9%: under a cent
            ((0, 20_000), true),             // nothing metered, $0.02 reported
            ((2_000_000, 2_000_000), false),
        ];
        for ((m, r), want) in cases {
            assert_eq!(differs(m, r), want, "{m} {r}");
        }
        let mut s = with(Some(0.0042), Some(&[1_440_000]));
        let d = s.unsaid_difference().expect("a lie is said");
        assert_eq!((d.metered, d.reported), (1_440_000, 4_200));
        assert_eq!(
            d.line(1),
            "[afk] spend: the agent reported $0.0042, the model gateway metered $1.44 over 1 request (the run's spend)"
        );
        s.said = Some(d);
        assert_eq!(s.unsaid_difference(), None, "said once");
        let mut s = RunSpend::from_stored(Some(&s.to_stored()));
        assert_eq!(s.unsaid_difference(), None, "the next tick too");
        // the figures move: said again
        let more = with(Some(0.0042), Some(&[1_440_000, 60_000]));
        s.metered = more.metered.clone();
        let d2 = s.unsaid_difference().expect("a new difference");
        assert_eq!(d2.metered, 1_500_000);
        // no record, or no report: nothing to say
        assert_eq!(with(Some(0.5), None).unsaid_difference(), None);
        assert_eq!(with(None, Some(&[1_440_000])).unsaid_difference(), None);
        // close enough: nothing to say
        assert_eq!(
            with(Some(1.4401), Some(&[1_440_000])).unsaid_difference(),
            None
        );
    }

    #[test]
    fn the_metered_record_is_read_from_where_it_stopped_and_again_when_replaced() {
        let mut m = Read::default();
        assert_eq!(m.start(5, 100), 0);
        m.tally.feed(&[b' '; 100]);
        assert_eq!(m.start(5, 150), 100, "the same file, grown");
        assert_eq!(
            m.start(5, 50),
            0,
            "truncated: from its start, nothing summed"
        );
        m.tally.feed(&[b' '; 50]);
        assert_eq!(m.start(6, 500), 0, "another file");
        assert_eq!(m.file, 6);
    }
}
