//! The gateway's budget gate (docs/runners.md#the-model-gateway-runnermodel):
//! before passing a request, the run's metered spend and the spend of the
//! runs it shares a budget with, against `[budget]`'s money limits
//! (`core::budget::spend::MoneyLimits`).
//!
//! The keeper makes one [`Gate`] as a turn starts, from what was recorded
//! then: the run's spend before this turn, and what the other runs
//! dispatched on the run's UTC day spent (all repositories, and this one:
//! as `core::budget::spend::money_left` counts them); then it asks
//! [`Gate::check`] with the turn's metered spend so far before each request.
//! At or over a limit: a [`Refusal`] (a 429 whose body names the budget),
//! and no further request passes that turn.

use super::Api;
use super::prices::{micro, usd};
use crate::budget::spend::{DayRun, MoneyLimits};

/// What a turn's requests are gated by.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Gate {
    pub limits: MoneyLimits,
    /// The run's spend before this turn (its earlier turns), micro-dollars.
    pub run_before: u64,
    /// Of it, what counts toward the turn's UTC day: the spend of the run's
    /// turns started that day (`core::budget::turn_day`); None: all of `run_before`
    /// (a run's first day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_before_day: Option<u64>,
    /// The other runs dispatched on the run's UTC day, all repositories.
    pub day_others: u64,
    /// The same, the run's repository only.
    pub repo_day_others: u64,
}

/// The run's own `run_usd` raised by a trusted person while its turn
/// runs: left by the tick in the run's folder, which the box sees
/// read-only, and read by the keeper before each request.
pub const RAISED_FILE: &str = "budget-raised.json";

/// The gate with the run's own raised limit in force, from the next
/// request on. A raise only ever raises, and never sets a limit where
/// the config has none (`run_usd = 0`).
pub fn raised(mut gate: Gate, run_usd: Option<f64>) -> Gate {
    if let Some(usd) = run_usd
        && usd.is_finite()
        && gate.limits.run_usd > 0.0
        && usd > gate.limits.run_usd
    {
        gate.limits.run_usd = usd;
    }
    gate
}

/// A request refused: the budget reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// `run_usd`, `repo_day_usd` or `day_usd`.
    pub limit: &'static str,
    pub limit_usd: f64,
    /// The spend it counts (the run's, or the day's with this run's).
    pub spend_usd: f64,
}

impl Gate {
    /// The gate of a turn of `run` (its spend so far as recorded when the
    /// turn starts), the other runs' as recorded then (any day: only the
    /// run's UTC day counts, as `core::budget::spend::money_left` counts them); None
    /// when no money limit is set.
    pub fn of(limits: MoneyLimits, run: &DayRun, others: &[DayRun]) -> Option<Gate> {
        let l = limits;
        if l.run_usd <= 0.0 && l.day.day_usd <= 0.0 && l.day.repo_day_usd <= 0.0 {
            return None;
        }
        let day = crate::budget::spend::day_of(run.dispatched_at);
        let spent = |repo| micro(crate::budget::spend::day_spend(others, day, repo).spend_usd);
        Some(Gate {
            limits,
            run_before: micro(run.spend_usd.unwrap_or(0.0)),
            run_before_day: None,
            day_others: spent(None),
            repo_day_others: spent(Some(run.repo)),
        })
    }

    /// Each set limit with the spend it counts as the turn starts, in the
    /// order a refusal names them (the run's first).
    fn rooms(&self) -> impl Iterator<Item = (&'static str, f64, u64)> {
        let run = self.run_before;
        let day = self.run_before_day.unwrap_or(run);
        let l = self.limits;
        [
            ("run_usd", l.run_usd, run),
            (
                "repo_day_usd",
                l.day.repo_day_usd,
                self.repo_day_others.saturating_add(day),
            ),
            (
                "day_usd",
                l.day.day_usd,
                self.day_others.saturating_add(day),
            ),
        ]
        .into_iter()
        .filter(|(_, limit, _)| *limit > 0.0)
    }

    /// What is left as the turn starts (`AFK_BUDGET_USD`): the smallest of
    /// each set limit less the spend it counts, never below 0.
    pub fn left(&self) -> Option<f64> {
        self.rooms()
            .map(|(_, limit, spent)| (limit - usd(spent)).max(0.0))
            .reduce(f64::min)
            .map(crate::budget::spend::round)
    }

    /// The limit [`Gate::left`] is the room under: the one with the least
    /// room as the turn starts (a tie: the one a refusal names first, the
    /// run's). An agent that stops itself at what it was handed (Claude
    /// Code's `--max-budget-usd`) stopped at this limit: a day's cap so
    /// reached pauses until midnight, as the gateway's stop there does.
    pub fn binding(&self) -> Option<&'static str> {
        let mut best: Option<(&'static str, f64)> = None;
        for (name, limit, spent) in self.rooms() {
            let room = (limit - usd(spent)).max(0.0);
            if best.is_none_or(|(_, b)| room < b) {
                best = Some((name, room));
            }
        }
        best.map(|(name, _)| name)
    }

    /// Whether a request may pass when the turn has spent `turn` micro-dollars
    /// so far: refused once a spend is at or over its limit (each 0: none),
    /// the run's limit named first.
    pub fn check(&self, turn: u64) -> Result<(), Refusal> {
        // the day counts the run's turns started on it
        for (limit, limit_usd, spend) in self.rooms() {
            let spend = spend.saturating_add(turn);
            if spend >= micro(limit_usd) {
                return Err(Refusal {
                    limit,
                    limit_usd,
                    spend_usd: usd(spend),
                });
            }
        }
        Ok(())
    }
}

/// The record of a turn's start the tick keeps in the run folder before it
/// starts the turn (`<run_dir>/budget-turn.json`): which turn, where the
/// turn's output begins in `agent.log`, and the gate it was handed. What
/// the agent reports at its turn's end is read from `log_from` on (an
/// earlier turn's words are that turn's), and a stop at its own budget is a
/// stop at the gate's [`Gate::binding`] limit.
pub const TURN_FILE: &str = "budget-turn.json";

/// What [`TURN_FILE`] holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TurnStart {
    pub turn: u32,
    /// `agent.log`'s length as the turn starts
    pub log_from: u64,
    /// the turn's gate; None: no money limit
    pub gate: Option<Gate>,
}

impl TurnStart {
    /// Its stored form: one JSON object and `\n`.
    pub fn to_record(&self) -> String {
        let mut t = serde_json::to_string(self).unwrap_or_default();
        t.push('\n');
        t
    }

    /// A record read back; None when it is not one.
    pub fn from_record(text: &str) -> Option<TurnStart> {
        serde_json::from_str(text.trim()).ok()
    }
}

/// The file in the run folder where the keeper leaves the refusal that
/// stopped a turn (`<run_dir>/budget-stop.json`, [`Refusal::to_record`]);
/// watch's next tick escalates the run `over-budget` with its figures.
pub const STOP_FILE: &str = "budget-stop.json";

/// The most of a stop record read: a few hundred bytes are written.
pub const STOP_MAX: usize = 4096;

/// The stored form of a refusal.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    limit: String,
    limit_usd: f64,
    spend_usd: f64,
}

impl Refusal {
    /// The stop record the keeper writes to [`STOP_FILE`]: one JSON object
    /// (`{"limit":"run_usd","limit_usd":1.0,"spend_usd":1.02}`) and `\n`.
    pub fn to_record(&self) -> String {
        let s = Stored {
            limit: self.limit.to_string(),
            limit_usd: self.limit_usd,
            spend_usd: self.spend_usd,
        };
        let mut t = serde_json::to_string(&s).unwrap_or_default();
        t.push('\n');
        t
    }

    /// A stop record read back; None when it is not one (another limit's
    /// name, a figure that is no money).
    pub fn from_record(text: &str) -> Option<Refusal> {
        let s: Stored = serde_json::from_str(text.trim()).ok()?;
        let limit = ["run_usd", "repo_day_usd", "day_usd"]
            .into_iter()
            .find(|l| *l == s.limit)?;
        Some(Refusal {
            limit,
            limit_usd: crate::budget::spend::believable(s.limit_usd)?,
            spend_usd: crate::budget::spend::believable(s.spend_usd)?,
        })
    }

    /// One line for the run's log and the 429's message.
    pub fn line(&self) -> String {
        format!(
            "afk: {}; no further model request passes, the turn stops",
            self.reached()
        )
    }

    /// The limit and the figures: `budget.run_usd $1.00 reached: this run
    /// spent $1.02 (metered)` (the escalation's words too).
    pub fn reached(&self) -> String {
        let whose = match self.limit {
            "run_usd" => "this run",
            "repo_day_usd" => "this repository's runs of the day",
            _ => "the day's runs",
        };
        format!(
            "budget.{} {} reached: {whose} spent {} (metered)",
            self.limit,
            crate::budget::spend::usd(self.limit_usd),
            crate::budget::spend::usd_beside(self.spend_usd, self.limit_usd),
        )
    }

    /// The 429's body, in the API's own error shape (what the agent prints).
    pub fn body(&self, api: Api) -> String {
        let message = self.line();
        let v = match api {
            Api::Anthropic => serde_json::json!({
                "type": "error",
                "error": {"type": "rate_limit_error", "message": message},
            }),
            Api::OpenAi => serde_json::json!({
                "error": {"message": message, "type": "insufficient_quota",
                          "param": null, "code": "afk_budget_reached"},
            }),
        };
        v.to_string()
    }
}
