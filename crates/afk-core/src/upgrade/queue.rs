//! The test queue of `afk upgrade` (`serial_tests`, docs/configuration.md): the
//! shared test cluster runs one recipe's tests at a time, so at most one PR
//! across all recipes has a test run or a fixer in flight; the others wait,
//! oldest PR first, and a flow that reaches a final result frees the slot on
//! the same tick. Pure: the steps come in, in the order they are decided.

use crate::upgrade::verdict::Step;

/// How a tick's PRs are ordered for the slot: those already in flight
/// (a test run posted) first, then the others oldest first (`age`: smaller
/// is older).
pub fn order_key(test_runs: u32, age: i64) -> (bool, i64) {
    (test_runs == 0, age)
}

/// The slot across one tick's PRs.
#[derive(Debug, Clone, Default)]
pub struct Slot {
    serial: bool,
    taken: bool,
    queued: u32,
}

impl Slot {
    pub fn new(serial: bool) -> Slot {
        Slot {
            serial,
            ..Slot::default()
        }
    }

    /// The step a PR takes: `step`, or `Queued(place)` when it would start a
    /// new test run while another PR holds the slot. A step that keeps a
    /// test run or a fixer in flight takes the slot.
    pub fn admit(&mut self, step: Step, test_runs: u32) -> Step {
        let starts_a_run = matches!(step, Step::Testme) && test_runs == 0;
        if self.serial && self.taken && starts_a_run {
            self.queued += 1;
            return Step::Queued(self.queued);
        }
        if holds_slot(&step) {
            self.taken = true;
        }
        step
    }
}

/// Whether a step keeps a test run or a fixer in flight.
pub(crate) fn holds_slot(step: &Step) -> bool {
    matches!(step, Step::Testme | Step::StartFixer | Step::Wait(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upgrade::verdict::{Failure, Outcome};

    #[test]
    fn one_pr_at_a_time_is_in_flight_and_the_others_queue_in_order() {
        // (serial, [(next step, test runs)] in order) -> the steps taken
        let w = Step::Wait("waiting for the test verdict");
        type Case = (&'static str, bool, Vec<(Step, u32)>, Vec<Step>);
        let cases: Vec<Case> = vec![
            (
                "two new PRs: the first is tested, the second queues",
                true,
                vec![(Step::Testme, 0), (Step::Testme, 0), (Step::Testme, 0)],
                vec![Step::Testme, Step::Queued(1), Step::Queued(2)],
            ),
            (
                "a PR in flight keeps the slot",
                true,
                vec![(w.clone(), 1), (Step::Testme, 0)],
                vec![w.clone(), Step::Queued(1)],
            ),
            (
                "a fixer in flight keeps the slot",
                true,
                vec![(Step::StartFixer, 1), (Step::Testme, 0)],
                vec![Step::StartFixer, Step::Queued(1)],
            ),
            (
                "the next test of a PR in flight is not queued",
                true,
                vec![(Step::Testme, 2), (Step::Testme, 0)],
                vec![Step::Testme, Step::Queued(1)],
            ),
            (
                "GREEN frees the slot on the same tick",
                true,
                vec![(Step::Green, 1), (Step::Testme, 0)],
                vec![Step::Green, Step::Testme],
            ),
            (
                "FAILED and final flows free it too",
                true,
                vec![
                    (Step::Fail(Failure::NotGreen { runs: 3 }), 3),
                    (Step::Done(Outcome::Failed), 1),
                    (Step::Testme, 0),
                ],
                vec![
                    Step::Fail(Failure::NotGreen { runs: 3 }),
                    Step::Done(Outcome::Failed),
                    Step::Testme,
                ],
            ),
            (
                "without serial_tests nothing queues",
                false,
                vec![(w.clone(), 1), (Step::Testme, 0), (Step::Testme, 0)],
                vec![w.clone(), Step::Testme, Step::Testme],
            ),
        ];
        for (name, serial, steps, want) in cases {
            let mut slot = Slot::new(serial);
            let got: Vec<Step> = steps.into_iter().map(|(s, n)| slot.admit(s, n)).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn prs_in_flight_come_first_then_the_oldest() {
        let mut prs = [
            ("new", 0, 9),
            ("old", 0, 2),
            ("flying", 2, 7),
            ("older", 0, 1),
        ];
        prs.sort_by_key(|(_, runs, age)| order_key(*runs, *age));
        let names: Vec<&str> = prs.iter().map(|p| p.0).collect();
        assert_eq!(names, ["flying", "older", "old", "new"]);
    }
}
