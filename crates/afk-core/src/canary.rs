// One file: the canary's rules (~660 lines, the Beta rule and its checkpoints) and the table tests that pin them.
//! The canary decision
//! (docs/how-it-works.md#afk-harvest-and-the-template-canary): which
//! checkpoints are due, what each one concludes, and whether the canary is
//! rolled back, graduated or rejected.
//!
//! Pure: the caller reads the canary's outcomes and its control (the current
//! version's runs dispatched since the canary went live) from the store, passes
//! the last checkpoint it already recorded, and persists what comes back. The
//! answer depends only on the outcomes and their end order, never on when
//! harvest happens to run.
//!
//! Probabilities are exact: P(X < Y) for two Beta distributions with integer
//! parameters is a finite sum (Evan Miller, "Formulas for Bayesian A/B
//! testing"), evaluated term by term in log space.
use crate::types::Invalid;

use super::kinds::EventKind;
use serde::Serialize;
use std::fmt;

/// The champion wins ties: at `max_samples` a canary graduates only when
/// P(better) exceeds `graduate_at_max` by more than this.
pub(crate) const TIE_MARGIN: f64 = 1e-9;

/// The `[harvest]` keys the decision reads
/// (docs/configuration.md#harvest-the-canary-for-prompt-templates). The caller
/// validates them (config does); here `check_every = 0` counts as 1 and
/// `max_samples` below `min_samples` as `min_samples`, so the checkpoint list
/// is always finite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub min_samples: u32,
    pub check_every: u32,
    pub max_samples: u32,
    pub confidence: f64,
    pub graduate_at_max: f64,
    pub early_failures: u32,
}

impl Default for Policy {
    /// The documented defaults (docs/configuration.md).
    fn default() -> Self {
        Policy {
            min_samples: 20,
            check_every: 10,
            max_samples: 40,
            confidence: 0.975,
            graduate_at_max: 0.5,
            early_failures: 5,
        }
    }
}

/// A run's outcome (docs/how-it-works.md#afk-harvest-and-the-template-canary);
/// `Display` is the report string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        })
    }
}

/// One ended run: its outcome and its end ordering key (the time the run ended,
/// then the run id; e.g. `(ended_at, run_id)`). Keys of different
/// runs must differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended<K> {
    pub key: K,
    pub outcome: Outcome,
}

/// Successes and failures counted at a checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub success: u32,
    pub failure: u32,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Success => self.success += 1,
            Outcome::Failure => self.failure += 1,
        }
    }
}

/// What a checkpoint concluded; `Display` is the report string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    Continue,
    RolledBack,
    AutoPromoted,
    Rejected,
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckResult::Continue => "continue",
            CheckResult::RolledBack => "rolled_back",
            CheckResult::AutoPromoted => "auto_promoted",
            CheckResult::Rejected => "rejected",
        })
    }
}

/// Why a canary was rolled back or rejected; `Display` is the report string
/// (and the `reason` of the `candidate.rolled_back` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// A checkpoint found P(canary worse) ≥ confidence.
    Regression,
    /// The first `early_failures` outcomes all failed, before `min_samples`.
    EarlyFailures,
    /// `max_samples` reached without P(canary better) > `graduate_at_max`.
    Inconclusive,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Regression => "regression",
            Reason::EarlyFailures => "early-failures",
            Reason::Inconclusive => "inconclusive",
        })
    }
}

/// The end of a canary. Serialized as `{"decision": "rolled_back", "reason":
/// "regression"}`, `{"decision": "auto_promoted"}`, `{"decision": "rejected",
/// "reason": "inconclusive"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The canary becomes `rejected`; emits `candidate.rolled_back`.
    RolledBack { reason: Reason },
    /// The canary becomes `current` (early or at `max_samples`); emits
    /// `candidate.auto_promoted`.
    #[serde(rename = "auto_promoted")]
    Graduated,
    /// The canary becomes `rejected` at `max_samples`.
    Rejected { reason: Reason },
}

impl Decision {
    /// The report string of the decision (`rolled_back`, `auto_promoted`, `rejected`).
    pub fn result(&self) -> CheckResult {
        match self {
            Decision::RolledBack { .. } => CheckResult::RolledBack,
            Decision::Graduated => CheckResult::AutoPromoted,
            Decision::Rejected { .. } => CheckResult::Rejected,
        }
    }

    pub fn reason(&self) -> Option<Reason> {
        match self {
            Decision::RolledBack { reason } | Decision::Rejected { reason } => Some(*reason),
            Decision::Graduated => None,
        }
    }
}

/// One evaluated checkpoint, as recorded and reported
/// (docs/reports.md#afk-harvest).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    pub at: u32,
    pub canary: Tally,
    pub control: Tally,
    /// P(p_canary < p_current).
    pub p_worse: f64,
    /// P(p_canary > p_current).
    pub p_better: f64,
    pub result: CheckResult,
}

/// What one harvest learns about a canary: the checkpoints newly evaluated, in
/// order, and the decision if one was reached (then it is the last checkpoint's
/// result, or `early-failures` with no checkpoint).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluation {
    pub checkpoints: Vec<Checkpoint>,
    pub decision: Option<Decision>,
}

impl Policy {
    /// The last checkpoint, and so the most canary outcomes ever read:
    /// `max_samples`, or `min_samples` when that is larger.
    pub fn last_checkpoint(&self) -> u32 {
        self.max_samples.max(self.min_samples)
    }
}

/// Whether an outcome of the current version is in a canary's control: its
/// run was dispatched, and it ended, at or after the canary went live
/// (`since`, stored timestamps with six fractional digits, which order as
/// text to the microsecond: `clock::ts_precise`), and it ended no later
/// than the canary's last counted outcome (`bound`, in end order).
/// `Store::control_outcomes` applies it to the rows SQL narrowed down.
pub fn in_control<K: Ord>(
    dispatched_at: &str,
    ended_at: &str,
    key: &K,
    since: &str,
    bound: &K,
) -> bool {
    dispatched_at >= since && ended_at >= since && key <= bound
}

/// When a canary went live, the start of its control (`in_control`'s
/// `since`): its `canary_since`, or, for a version that became the canary
/// before that column existed, the moment its status last changed.
pub fn went_live<'a>(canary_since: Option<&'a str>, status_at: &'a str) -> &'a str {
    canary_since.unwrap_or(status_at)
}

/// The checkpoints of a policy: `min_samples`, `min_samples + check_every`, …
/// below `max_samples`, then `max_samples`.
pub fn checkpoints(p: &Policy) -> Vec<u32> {
    let max = p.last_checkpoint();
    let step = p.check_every.max(1) as usize;
    let mut out: Vec<u32> = (p.min_samples..max).step_by(step).collect();
    out.push(max);
    out
}

/// The next checkpoint after `last_evaluated` (None: none is left).
pub fn next_checkpoint(p: &Policy, last_evaluated: Option<u32>) -> Option<u32> {
    checkpoints(p)
        .into_iter()
        .find(|&c| last_evaluated.is_none_or(|l| c > l))
}

/// Evaluates the checkpoints after `last_evaluated` that the canary's outcomes
/// have reached, in order, stopping at the first decisive one.
///
/// `canary` is the canary's outcomes, `control` the current version's outcomes
/// from runs dispatched since the canary went live; both are ordered here by
/// key, so their slice order does not matter. Call it only while the canary is
/// live: a decided canary is never re-decided.
///
/// The early-failure rule ("before `min_samples`") applies only while no
/// checkpoint has been evaluated and only when `0 < early_failures <
/// min_samples`; otherwise the first checkpoint comes first and decides.
pub fn evaluate<K: Ord>(
    policy: &Policy,
    canary: &[Ended<K>],
    control: &[Ended<K>],
    last_evaluated: Option<u32>,
) -> Evaluation {
    let mut canary: Vec<&Ended<K>> = canary.iter().collect();
    canary.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = Evaluation::default();

    let n = policy.early_failures as usize;
    if last_evaluated.is_none()
        && n > 0
        && n < policy.min_samples as usize
        && canary.len() >= n
        && canary[..n].iter().all(|e| e.outcome == Outcome::Failure)
    {
        out.decision = Some(Decision::RolledBack {
            reason: Reason::EarlyFailures,
        });
        return out;
    }

    let last_checkpoint = policy.last_checkpoint();
    for at in checkpoints(policy) {
        if last_evaluated.is_some_and(|l| at <= l) {
            continue;
        }
        if canary.len() < at as usize {
            break;
        }
        let first = &canary[..at as usize];
        let bound = &first[first.len() - 1].key;
        let mut c = Tally::default();
        first.iter().for_each(|e| c.add(e.outcome));
        let mut k = Tally::default();
        control
            .iter()
            .filter(|e| e.key <= *bound)
            .for_each(|e| k.add(e.outcome));

        let p_worse = posterior_less(c, k);
        let p_better = posterior_less(k, c);
        let decision = if p_worse >= policy.confidence {
            Some(Decision::RolledBack {
                reason: Reason::Regression,
            })
        } else if p_better >= policy.confidence {
            Some(Decision::Graduated)
        } else if at == last_checkpoint {
            if p_better > policy.graduate_at_max + TIE_MARGIN {
                Some(Decision::Graduated)
            } else {
                Some(Decision::Rejected {
                    reason: Reason::Inconclusive,
                })
            }
        } else {
            None
        };
        out.checkpoints.push(Checkpoint {
            at,
            canary: c,
            control: k,
            p_worse,
            p_better,
            result: decision.map_or(CheckResult::Continue, |d| d.result()),
        });
        if decision.is_some() {
            out.decision = decision;
            break;
        }
    }
    out
}

/// P(p_a < p_b) for success rates with Beta(1,1) priors and tallies `a`, `b`.
fn posterior_less(a: Tally, b: Tally) -> f64 {
    p_less(
        1 + u64::from(a.success),
        1 + u64::from(a.failure),
        1 + u64::from(b.success),
        1 + u64::from(b.failure),
    )
}

/// Exact P(X < Y) for X ~ Beta(a1, b1), Y ~ Beta(a2, b2), integer parameters ≥ 1
/// (a parameter of 0 is taken as 1).
///
/// Evan Miller's closed form, with A = X, B = Y:
/// P(Y > X) = Σ_{i=0}^{a2−1} B(a1+i, b1+b2) / ((b2+i) B(1+i, b2) B(a1, b1)).
/// Every term is positive, so the sum has no cancellation; each term is formed
/// in log space and the sum is scaled by its largest term, so nothing
/// underflows. Identical distributions give exactly 0.5.
pub fn p_less(a1: u64, b1: u64, a2: u64, b2: u64) -> f64 {
    let (a1, b1, a2, b2) = (a1.max(1), b1.max(1), a2.max(1), b2.max(1));
    if (a1, b1) == (a2, b2) {
        return 0.5;
    }
    let fixed = ln_beta(a1, b1);
    let logs: Vec<f64> = (0..a2)
        .map(|i| ln_beta(a1 + i, b1 + b2) - ((b2 + i) as f64).ln() - ln_beta(1 + i, b2) - fixed)
        .collect();
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = logs.iter().map(|l| (l - top).exp()).sum();
    (top.exp() * sum).clamp(0.0, 1.0)
}

/// ln B(a, b) for integers ≥ 1.
fn ln_beta(a: u64, b: u64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ln Γ(n) = ln (n−1)! for an integer n ≥ 1: the factorial itself while it fits
/// a u64 exactly (n ≤ 21), else Stirling's series, whose first omitted term is
/// below 1e-17 from there on.
fn ln_gamma(n: u64) -> f64 {
    if n <= 21 {
        return ((1..n).product::<u64>() as f64).ln();
    }
    let z = n as f64;
    let z2 = z * z;
    let series = 1.0 / 12.0
        - (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0 - 1.0 / (1188.0 * z2)) / z2) / z2) / z2;
    (z - 0.5) * z.ln() - z + 0.5 * (2.0 * std::f64::consts::PI).ln() + series / z
}

/// The text of the event a decision emits: what happened to which version,
/// and the numbers that decided it (`last` is the deciding checkpoint; none
/// for `early-failures`). `current` is the champion's version number.
pub fn end_text(
    p: &Policy,
    name: &str,
    version: i64,
    current: Option<i64>,
    d: Decision,
    last: Option<&Checkpoint>,
) -> String {
    let champ = current.map_or_else(
        || "the current version".to_string(),
        |c| format!("{name}@{c}"),
    );
    let numbers = |c: &Checkpoint| {
        format!(
            "at {} outcomes: canary {}/{}, control {}/{} (success/failure), P(worse) {:.3}, P(better) {:.3}",
            c.at,
            c.canary.success,
            c.canary.failure,
            c.control.success,
            c.control.failure,
            c.p_worse,
            c.p_better
        )
    };
    match (d, last) {
        (
            Decision::RolledBack {
                reason: Reason::EarlyFailures,
            },
            _,
        ) => format!(
            "{name}@{version} rolled back (early-failures): its first {} outcomes all failed; {champ} stays current",
            p.early_failures
        ),
        (Decision::RolledBack { reason }, Some(c)) => format!(
            "{name}@{version} rolled back ({reason}) {}; {champ} stays current",
            numbers(c)
        ),
        (Decision::Rejected { reason }, Some(c)) => format!(
            "{name}@{version} rejected ({reason}) {}, not above graduate_at_max {}; {champ} stays current",
            numbers(c),
            p.graduate_at_max
        ),
        (Decision::Graduated, Some(c)) => format!(
            "{name}@{version} graduated to current {}; {champ} retired",
            numbers(c)
        ),
        (d, None) => format!("{name}@{version} {}", d.result()),
    }
}

/// A change a person makes to a template version by hand
/// (docs/reports.md#afk-template).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandChange {
    /// `template canary NAME VERSION` (and `add --canary`, for the new version)
    StartCanary,
    Promote,
    Reject,
}

/// What a hand change would act on: the version's status (None: no such
/// version), the name's live canary, and whether `harvest.canary` is on.
#[derive(Debug, Clone, Copy)]
pub struct HandTarget<'a> {
    pub name: &'a str,
    pub version: i64,
    pub status: Option<VersionStatus>,
    pub live_canary: Option<i64>,
    pub canary_on: bool,
}

pub use crate::types::VersionStatus;

/// Why a hand change is refused, as the one line a person reads; None when it
/// is allowed. A refused change changes nothing (exit 1).
///
/// - a canary starts only from a candidate, with `harvest.canary` on and no
///   other live canary;
/// - promote takes a candidate or the live canary; with a canary live, only the
///   canary (a new champion would change the canary's control mid-test);
/// - reject takes a candidate or the live canary, never the current version.
pub fn refusal(change: HandChange, t: &HandTarget) -> Option<String> {
    let (name, v) = (t.name, t.version);
    let Some(status) = t.status else {
        return Some(format!(
            "template: {name}@{v} does not exist (see `afk template list {name}`)"
        ));
    };
    match change {
        HandChange::StartCanary => {
            if !t.canary_on {
                Some("template: starting a canary needs harvest.canary = true in the config".into())
            } else if status == VersionStatus::Canary {
                Some(format!("template: {name}@{v} is already the live canary"))
            } else if let Some(live) = t.live_canary {
                Some(format!(
                    "template: {name} already has a live canary (version {live}): promote or reject it first"
                ))
            } else if status != VersionStatus::Candidate {
                Some(format!(
                    "template: {name}@{v} is {status}; only a candidate can become the canary"
                ))
            } else {
                None
            }
        }
        HandChange::Promote => match status {
            VersionStatus::Current => Some(format!("template: {name}@{v} is already current")),
            VersionStatus::Canary => None,
            VersionStatus::Candidate => t.live_canary.map(|live| {
                format!(
                    "template: {name} has a live canary (version {live}): promote or reject it before promoting another version"
                )
            }),
            other => Some(format!(
                "template: {name}@{v} is {other} and cannot be promoted"
            )),
        },
        HandChange::Reject => match status {
            VersionStatus::Current => Some(format!(
                "template: {name}@{v} is current; promote another version first"
            )),
            VersionStatus::Canary | VersionStatus::Candidate => None,
            other => Some(format!("template: {name}@{v} is already {other}")),
        },
    }
}

/// A template version's status change, decided here and only applied by the
/// store (`store/templates.rs`), in one transaction with its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub to: VersionStatus,
    /// the name's old current becomes `retired` first
    pub retire_current: bool,
    /// stored as the version's `decision` and `decision_reason`
    pub result: String,
    pub reason: Option<String>,
    /// the event the change enters into the outbox (once per version)
    pub event: EventKind,
}

/// A live canary's decided end: graduated, it becomes `current` (the old
/// current retired, `candidate.auto_promoted`); otherwise `rejected`
/// (`candidate.rolled_back`).
pub fn decided(d: Decision) -> Transition {
    let graduated = d == Decision::Graduated;
    Transition {
        to: if graduated {
            VersionStatus::Current
        } else {
            VersionStatus::Rejected
        },
        retire_current: graduated,
        result: d.result().to_string(),
        reason: d.reason().map(|r| r.to_string()),
        event: if graduated {
            EventKind::CandidateAutoPromoted
        } else {
            EventKind::CandidateRolledBack
        },
    }
}

/// A promotion or rejection by hand (allowed by [`refusal`]); None for
/// starting a canary, which changes no decision and emits no event.
pub fn by_hand(change: HandChange) -> Option<Transition> {
    let (to, retire_current, result, event) = match change {
        HandChange::StartCanary => return None,
        HandChange::Promote => (
            VersionStatus::Current,
            true,
            "promoted",
            EventKind::CandidatePromoted,
        ),
        HandChange::Reject => (
            VersionStatus::Rejected,
            false,
            "rejected",
            EventKind::CandidateRejected,
        ),
    };
    Some(Transition {
        to,
        retire_current,
        result: result.into(),
        reason: Some("by-hand".into()),
        event,
    })
}

/// The event text of a change by hand: `retired`, the version that was
/// current before a promotion.
pub fn hand_text(
    change: HandChange,
    name: &str,
    version: i64,
    was_canary: bool,
    retired: Option<i64>,
) -> String {
    let canary = if was_canary {
        " (it was the live canary)"
    } else {
        ""
    };
    match (change, retired) {
        (HandChange::Promote, Some(old)) => {
            format!("{name}@{version} promoted to current by hand{canary}; {name}@{old} retired")
        }
        (HandChange::Promote, None) => format!("{name}@{version} promoted to current by hand"),
        _ => format!("{name}@{version} rejected by hand{canary}"),
    }
}

/// A new version of `name` after `last` (None: the first): its number and
/// status, or the one line that refuses it. The first is `current`; later
/// ones `candidate`, or the live canary with `canary` (see [`refusal`]).
pub fn added(
    name: &str,
    last: Option<i64>,
    canary: bool,
    live_canary: Option<i64>,
    canary_on: bool,
) -> Result<(i64, VersionStatus), Invalid> {
    let version = last.unwrap_or(0) + 1;
    let Some(_) = last else {
        if canary {
            return Err(Invalid(format!(
                "template: {name} has no current version yet: add one without --canary first"
            )));
        }
        return Ok((version, VersionStatus::Current));
    };
    if !canary {
        return Ok((version, VersionStatus::Candidate));
    }
    let t = HandTarget {
        name,
        version,
        status: Some(VersionStatus::Candidate),
        live_canary,
        canary_on,
    };
    match refusal(HandChange::StartCanary, &t) {
        Some(why) => Err(Invalid(why)),
        None => Ok((version, VersionStatus::Canary)),
    }
}

/// The headings of [`checkpoint_cells`].
pub const CHECKPOINT_HEADINGS: [&str; 6] = [
    "AT",
    "CANARY S/F",
    "CONTROL S/F",
    "P(WORSE)",
    "P(BETTER)",
    "RESULT",
];

/// A checkpoint as table cells: AT, canary s/f, control s/f, P(worse),
/// P(better), result (`afk harvest`, `afk template show`).
pub fn checkpoint_cells(k: &Checkpoint) -> Vec<String> {
    vec![
        k.at.to_string(),
        format!("{}/{}", k.canary.success, k.canary.failure),
        format!("{}/{}", k.control.success, k.control.failure),
        format!("{:.3}", k.p_worse),
        format!("{:.3}", k.p_better),
        k.result.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- the probability -------------------------------------------------

    fn binom(n: u64, k: u64) -> f64 {
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }

    /// P(X < Y) = ∫ f_Y(y) F_X(y) dy by Simpson's rule, independent of `p_less`:
    /// F_X is the regularized incomplete beta for integers as a binomial tail,
    /// P(Beta(a,b) ≤ y) = P(Binomial(a+b−1, y) ≥ a).
    fn p_less_numeric(a1: u64, b1: u64, a2: u64, b2: u64, intervals: usize) -> f64 {
        let n = a1 + b1 - 1;
        let tail: Vec<(i32, i32, f64)> = (a1..=n)
            .map(|j| (j as i32, (n - j) as i32, binom(n, j)))
            .collect();
        let cdf = |y: f64| -> f64 {
            tail.iter()
                .map(|&(j, rest, c)| c * y.powi(j) * (1.0 - y).powi(rest))
                .sum()
        };
        let norm = (a2 + b2 - 1) as f64 * binom(a2 + b2 - 2, a2 - 1);
        let pdf = |y: f64| norm * y.powi(a2 as i32 - 1) * (1.0 - y).powi(b2 as i32 - 1);
        let f = |y: f64| pdf(y) * cdf(y);
        let h = 1.0 / intervals as f64;
        let inner: f64 = (1..intervals)
            .map(|i| f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
            .sum();
        (f(0.0) + f(1.0) + inner) * h / 3.0
    }

    #[test]
    fn p_less_matches_numerical_integration() {
        let params = [1u64, 2, 3, 5, 8];
        for &a1 in &params {
            for &b1 in &params {
                for &a2 in &params {
                    for &b2 in &params {
                        let exact = p_less(a1, b1, a2, b2);
                        let numeric = p_less_numeric(a1, b1, a2, b2, 2000);
                        assert!(
                            (exact - numeric).abs() < 1e-9,
                            "Beta({a1},{b1}) < Beta({a2},{b2}): {exact} vs {numeric}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn p_less_matches_numerical_integration_at_checkpoint_sizes() {
        // the shapes harvest sees: a canary of 20..40 against a control of up to ~160,
        // including Stirling's range of ln_gamma (arguments above 21)
        let cases = [
            (15, 7, 57, 25),
            (11, 11, 113, 49),
            (31, 11, 81, 41),
            (41, 1, 1, 161),
            (1, 41, 161, 1),
            (25, 17, 112, 50),
        ];
        for (a1, b1, a2, b2) in cases {
            let exact = p_less(a1, b1, a2, b2);
            let numeric = p_less_numeric(a1, b1, a2, b2, 20_000);
            assert!(
                (exact - numeric).abs() < 1e-9,
                "Beta({a1},{b1}) < Beta({a2},{b2}): {exact} vs {numeric}"
            );
        }
    }

    #[test]
    fn p_less_closed_forms() {
        // X ~ Beta(a,b) against a uniform Y: P(X < Y) = 1 − E[X] = b/(a+b)
        let cases = [
            (1, 1, 0.5),
            (21, 1, 1.0 / 22.0),
            (1, 21, 21.0 / 22.0),
            (3, 7, 0.7),
        ];
        for (a, b, want) in cases {
            let got = p_less(a, b, 1, 1);
            assert!(
                (got - want).abs() < 1e-12,
                "Beta({a},{b}) < U: {got} vs {want}"
            );
        }
    }

    #[test]
    fn p_less_is_symmetric_and_ties_are_half() {
        let params = [1u64, 2, 4, 9, 30, 120];
        for &a1 in &params {
            for &b1 in &params {
                for &a2 in &params {
                    for &b2 in &params {
                        let s = p_less(a1, b1, a2, b2) + p_less(a2, b2, a1, b1);
                        assert!(
                            (s - 1.0).abs() < 1e-12,
                            "({a1},{b1}) vs ({a2},{b2}): sum {s}"
                        );
                    }
                }
                assert_eq!(
                    p_less(a1, b1, a1, b1),
                    0.5,
                    "Beta({a1},{b1}) against itself"
                );
            }
        }
    }

    #[test]
    fn p_less_survives_large_controls() {
        // a long-lived canary's control can hold thousands of runs; no underflow, no NaN
        let p = p_less(29, 13, 7001, 3001);
        let q = p_less(7001, 3001, 29, 13);
        assert!(p.is_finite() && q.is_finite(), "{p} {q}");
        assert!((p + q - 1.0).abs() < 1e-9, "{p} + {q}");
        assert!(p_less(1, 41, 3001, 1) > 1.0 - 1e-12);
    }

    #[test]
    fn ln_gamma_is_the_log_factorial() {
        // both sides of the switch to Stirling's series agree with ln((n-1)!) summed
        for n in 1..200u64 {
            let want: f64 = (2..n).map(|k| (k as f64).ln()).sum();
            let got = ln_gamma(n);
            assert!(
                (got - want).abs() <= 1e-12 * want.max(1.0),
                "n={n}: {got} vs {want}"
            );
        }
    }

    // ---- the checkpoints -------------------------------------------------

    #[test]
    fn checkpoints_run_from_min_by_every_and_always_include_max() {
        let p = |min, every, max| Policy {
            min_samples: min,
            check_every: every,
            max_samples: max,
            ..Policy::default()
        };
        let cases = [
            ((20, 10, 40), vec![20, 30, 40]),
            ((20, 15, 40), vec![20, 35, 40]),
            ((20, 50, 40), vec![20, 40]),
            ((20, 10, 45), vec![20, 30, 40, 45]),
            ((40, 10, 40), vec![40]),
            ((5, 0, 7), vec![5, 6, 7]),
            ((20, 10, 10), vec![20]),
        ];
        for ((min, every, max), want) in cases {
            assert_eq!(
                checkpoints(&p(min, every, max)),
                want,
                "min {min} every {every} max {max}"
            );
        }
    }

    // ---- the decision ----------------------------------------------------

    const S: Outcome = Outcome::Success;
    const F: Outcome = Outcome::Failure;

    /// Outcomes from a pattern like "SSF", the i-th ending at `start + i * step`.
    fn runs(pattern: &str, start: u32, step: u32) -> Vec<Ended<u32>> {
        pattern
            .chars()
            .enumerate()
            .map(|(i, ch)| Ended {
                key: start + i as u32 * step,
                outcome: if ch == 'S' { S } else { F },
            })
            .collect()
    }

    /// `s` successes then `f` failures, as a pattern.
    fn pat(s: usize, f: usize) -> String {
        "S".repeat(s) + &"F".repeat(f)
    }

    /// `s` successes and `f` failures spread evenly, failures first on a tie, so
    /// every prefix has about the overall success rate.
    fn mix(s: usize, f: usize) -> String {
        let n = s + f;
        (0..n)
            .map(|i| {
                if (i + 1) * s / n > i * s / n {
                    'S'
                } else {
                    'F'
                }
            })
            .collect()
    }

    /// A canary whose i-th outcome (from 1) ends at key 1000 + 10·i.
    fn canary(pattern: &str) -> Vec<Ended<u32>> {
        runs(pattern, 1010, 10)
    }

    /// A control that ended entirely before the canary's first outcome.
    fn control_before(s: usize, f: usize) -> Vec<Ended<u32>> {
        runs(&pat(s, f), 0, 1)
    }

    fn tally(success: u32, failure: u32) -> Tally {
        Tally { success, failure }
    }

    const REGRESSION: Decision = Decision::RolledBack {
        reason: Reason::Regression,
    };
    const EARLY: Decision = Decision::RolledBack {
        reason: Reason::EarlyFailures,
    };
    const INCONCLUSIVE: Decision = Decision::Rejected {
        reason: Reason::Inconclusive,
    };

    fn results(e: &Evaluation) -> Vec<(u32, CheckResult)> {
        e.checkpoints.iter().map(|c| (c.at, c.result)).collect()
    }

    #[test]
    fn spec_7_4_rules_at_the_defaults() {
        use CheckResult::*;
        let p = Policy::default();
        // (name, canary pattern, control (success, failure), checkpoints, decision)
        let cases = [
            (
                "clearly worse at min_samples rolls back",
                pat(8, 12),
                (70, 10),
                vec![(20, RolledBack)],
                Some(REGRESSION),
            ),
            (
                "clearly better at min_samples graduates early",
                pat(20, 0),
                (40, 40),
                vec![(20, AutoPromoted)],
                Some(Decision::Graduated),
            ),
            (
                "unclear at min_samples continues",
                mix(14, 6),
                (56, 24),
                vec![(20, Continue)],
                None,
            ),
            (
                "worse by the second checkpoint rolls back there",
                mix(14, 6) + &pat(0, 10),
                (56, 24),
                vec![(20, Continue), (30, RolledBack)],
                Some(REGRESSION),
            ),
            (
                "somewhat better at max graduates",
                mix(32, 8),
                (110, 50),
                vec![(20, Continue), (30, Continue), (40, AutoPromoted)],
                Some(Decision::Graduated),
            ),
            (
                "somewhat worse at max is inconclusive",
                mix(26, 14),
                (112, 48),
                vec![(20, Continue), (30, Continue), (40, Rejected)],
                Some(INCONCLUSIVE),
            ),
            (
                "a tie at max: the champion wins",
                mix(28, 12),
                (28, 12),
                vec![(20, Continue), (30, Continue), (40, Rejected)],
                Some(INCONCLUSIVE),
            ),
            (
                "fewer outcomes than min_samples: nothing to evaluate",
                pat(10, 9),
                (0, 80),
                vec![],
                None,
            ),
        ];
        for (name, pattern, (ks, kf), want_checkpoints, want_decision) in cases {
            let e = evaluate(&p, &canary(&pattern), &control_before(ks, kf), None);
            assert_eq!(results(&e), want_checkpoints, "{name}: {e:?}");
            assert_eq!(e.decision, want_decision, "{name}: {e:?}");
        }
    }

    #[test]
    fn checkpoint_records_counts_and_both_probabilities() {
        let e = evaluate(
            &Policy::default(),
            &canary(&pat(8, 12)),
            &control_before(70, 10),
            None,
        );
        let c = &e.checkpoints[0];
        assert_eq!(
            (c.at, c.canary, c.control),
            (20, tally(8, 12), tally(70, 10))
        );
        assert_eq!(c.p_worse, p_less(9, 13, 71, 11));
        assert_eq!(c.p_better, p_less(71, 11, 9, 13));
        assert!(c.p_worse >= 0.975 && (c.p_worse + c.p_better - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ties_go_to_the_champion() {
        // identical counts give P(worse) = P(better) = 0.5 exactly
        let cases = [
            // (name, confidence, graduate_at_max, min = max, decision)
            ("confidence 0.5 rolls back a tie", 0.5, 0.5, 20, REGRESSION),
            (
                "graduate_at_max 0.5 rejects a tie",
                0.975,
                0.5,
                20,
                INCONCLUSIVE,
            ),
            (
                "a tie passes a lower graduate_at_max",
                0.975,
                0.4,
                20,
                Decision::Graduated,
            ),
        ];
        for (name, confidence, graduate_at_max, at, want) in cases {
            let p = Policy {
                min_samples: at,
                max_samples: at,
                confidence,
                graduate_at_max,
                ..Policy::default()
            };
            let e = evaluate(&p, &canary(&pat(14, 6)), &control_before(14, 6), None);
            assert_eq!(
                (e.checkpoints[0].p_worse, e.checkpoints[0].p_better),
                (0.5, 0.5),
                "{name}"
            );
            assert_eq!(e.decision, Some(want), "{name}");
        }
    }

    #[test]
    fn graduate_at_max_needs_more_than_the_tie_margin() {
        // P(better) just above graduate_at_max, but within 1e-9, still rejects
        let c = canary(&pat(30, 10));
        let k = control_before(110, 50);
        let p_better = p_less(111, 51, 31, 11);
        let at = |graduate_at_max| Policy {
            min_samples: 40,
            max_samples: 40,
            graduate_at_max,
            ..Policy::default()
        };
        let cases = [
            (p_better - 5e-10, INCONCLUSIVE),
            (p_better - 2e-9, Decision::Graduated),
            (p_better, INCONCLUSIVE),
        ];
        for (gam, want) in cases {
            assert_eq!(
                evaluate(&at(gam), &c, &k, None).decision,
                Some(want),
                "graduate_at_max {gam}"
            );
        }
    }

    #[test]
    fn empty_control_is_a_uniform_prior() {
        use CheckResult::*;
        let p = Policy::default();
        let none: Vec<Ended<u32>> = vec![];
        let cases = [
            // all successes: P(better) = 21/22 at 20 (continue), 41/42 ≥ 0.975 at 40
            (
                pat(40, 0),
                vec![(20, Continue), (30, Continue), (40, AutoPromoted)],
            ),
            // one success then failures: P(worse) = 40/42 < 0.975 even at 40, so
            // against no evidence about the champion it is rejected, not rolled back
            (
                pat(1, 39),
                vec![(20, Continue), (30, Continue), (40, Rejected)],
            ),
        ];
        for (pattern, want) in cases {
            let e = evaluate(&p, &canary(&pattern), &none, None);
            assert_eq!(results(&e), want, "{pattern}");
            assert!(e.checkpoints.iter().all(|c| c.control == tally(0, 0)));
        }
        let e = evaluate(&p, &canary(&pat(20, 0)), &none, None);
        assert!((e.checkpoints[0].p_better - 21.0 / 22.0).abs() < 1e-12);
    }

    #[test]
    fn control_with_only_failures() {
        use CheckResult::*;
        let p = Policy {
            early_failures: 0,
            ..Policy::default()
        };
        let cases = [
            // a mediocre canary beats a champion that never succeeds, early
            (pat(10, 10), (0, 80), vec![(20, AutoPromoted)]),
            // one success against none: P(better) = 0.959 against 80 failures ...
            (pat(1, 19), (0, 80), vec![(20, Continue)]),
            // ... and 0.987 against 160
            (pat(1, 19), (0, 160), vec![(20, AutoPromoted)]),
            // no success on either side: the smaller sample only looks better
            // (P(better) = 0.79 at 20, 0.797 at 40): graduates at max, never early
            (
                pat(0, 40),
                (0, 160),
                vec![(20, Continue), (30, Continue), (40, AutoPromoted)],
            ),
        ];
        for (pattern, (ks, kf), want) in cases {
            let e = evaluate(&p, &canary(&pattern), &control_before(ks, kf), None);
            assert_eq!(results(&e), want, "{pattern}: {e:?}");
            assert!(
                e.checkpoints
                    .iter()
                    .all(|c| c.p_worse.is_finite() && c.p_better.is_finite())
            );
        }
    }

    #[test]
    fn control_counts_only_runs_ended_by_the_checkpoint() {
        let p = Policy::default();
        let c = canary(&mix(21, 9)); // key of the 20th outcome: 1200, of the 30th: 1300
        let mut k = runs(&mix(42, 18), 5, 3); // ending 5..=182
        k.extend(runs(&mix(7, 3), 1200, 1)); // ending 1200..=1209, a failure first
        k.extend(runs(&pat(0, 50), 1301, 1)); // after the 30th canary outcome
        let e = evaluate(&p, &c, &k, None);
        let seen: Vec<(u32, Tally)> = e.checkpoints.iter().map(|c| (c.at, c.control)).collect();
        assert_eq!(seen, vec![(20, tally(42, 19)), (30, tally(49, 21))]);
    }

    #[test]
    fn outcomes_are_taken_in_key_order_not_slice_order() {
        let p = Policy::default();
        let mut c = canary(&(pat(0, 20) + &pat(20, 0)));
        c.reverse();
        // in key order the first 20 all failed: rolled back at 20
        let e = evaluate(
            &Policy {
                early_failures: 0,
                ..p
            },
            &c,
            &control_before(56, 24),
            None,
        );
        assert_eq!(results(&e), vec![(20, CheckResult::RolledBack)]);
        assert_eq!(e.checkpoints[0].canary, tally(0, 20));
    }

    #[test]
    fn a_control_outcome_was_dispatched_and_ended_since_the_canary_went_live_up_to_its_bound() {
        let since = "2026-01-02T00:00:00Z";
        let bound = ("2026-01-05T00:00:00Z", 7);
        let cases = [
            ("2026-01-02T00:00:00Z", ("2026-01-03T00:00:00Z", 3), true),
            ("2026-01-01T23:59:59Z", ("2026-01-03T00:00:00Z", 3), false),
            ("2026-01-03T00:00:00Z", ("2026-01-01T00:00:00Z", 3), false),
            ("2026-01-03T00:00:00Z", ("2026-01-05T00:00:00Z", 7), true),
            ("2026-01-03T00:00:00Z", ("2026-01-05T00:00:00Z", 8), false),
            ("2026-01-03T00:00:00Z", ("2026-01-06T00:00:00Z", 1), false),
        ];
        for (dispatched, key, want) in cases {
            assert_eq!(
                in_control(dispatched, key.0, &key, since, &bound),
                want,
                "{dispatched} {key:?}"
            );
        }
    }

    #[test]
    fn a_canary_went_live_at_its_canary_since_else_at_its_status_change() {
        let cases = [
            (
                Some("2026-01-02T00:00:00.000001Z"),
                "2026-01-03T00:00:00Z",
                "2026-01-02T00:00:00.000001Z",
            ),
            // a canary from before the column: its status change
            (None, "2026-01-03T00:00:00Z", "2026-01-03T00:00:00Z"),
        ];
        for (since, status_at, want) in cases {
            assert_eq!(went_live(since, status_at), want, "{since:?}");
        }
    }

    #[test]
    fn evaluated_checkpoints_are_not_re_evaluated() {
        use CheckResult::*;
        let p = Policy::default();
        let c = canary(&mix(27, 13));
        let k = control_before(112, 48);
        let cases = [
            (None, vec![(20, Continue), (30, Continue), (40, Rejected)]),
            (Some(20), vec![(30, Continue), (40, Rejected)]),
            (Some(30), vec![(40, Rejected)]),
            (Some(40), vec![]),
        ];
        for (last, want) in cases {
            assert_eq!(
                results(&evaluate(&p, &c, &k, last)),
                want,
                "last evaluated {last:?}"
            );
        }
        // only 35 outcomes after checkpoint 30: nothing new
        let e = evaluate(&p, &canary(&mix(25, 10)), &k, Some(30));
        assert_eq!(e, Evaluation::default());
    }

    #[test]
    fn many_outcomes_at_once_stop_at_the_first_decisive_checkpoint() {
        use CheckResult::*;
        let p = Policy::default();
        // 40 outcomes at once; the last 20 all failed, so checkpoint 30 already rolls back
        let e = evaluate(
            &p,
            &canary(&(mix(14, 6) + &pat(0, 20))),
            &control_before(56, 24),
            None,
        );
        assert_eq!(results(&e), vec![(20, Continue), (30, RolledBack)]);
        assert_eq!(e.decision, Some(REGRESSION));
        // outcomes beyond max_samples are ignored: checkpoint 40 uses the first 40
        let e = evaluate(
            &p,
            &canary(&(mix(27, 13) + &pat(0, 30))),
            &control_before(112, 48),
            None,
        );
        assert_eq!(
            e.checkpoints.last().map(|c| (c.at, c.canary)),
            Some((40, tally(27, 13)))
        );
    }

    #[test]
    fn early_failures_roll_back_before_min_samples() {
        let p = Policy::default();
        let k = control_before(56, 24);
        let cases = [
            ("first 5 failed", pat(0, 5), None, Some(EARLY)),
            (
                "first 5 failed, seen late with 25 outcomes",
                pat(0, 5) + &pat(20, 0),
                None,
                Some(EARLY),
            ),
            ("only 4 outcomes yet", pat(0, 4), None, None),
            (
                "a success among the first 5",
                "FFFSF".to_string(),
                None,
                None,
            ),
            (
                "a checkpoint was already evaluated",
                pat(0, 5) + &pat(20, 0),
                Some(20),
                None,
            ),
        ];
        for (name, pattern, last, want) in cases {
            let e = evaluate(&p, &canary(&pattern), &k, last);
            assert_eq!(e.decision, want, "{name}: {e:?}");
            assert!(
                e.decision.is_none() || e.checkpoints.is_empty(),
                "{name}: {e:?}"
            );
        }
    }

    #[test]
    fn early_failures_zero_is_off() {
        let p = Policy {
            early_failures: 0,
            ..Policy::default()
        };
        let k = control_before(56, 24);
        assert_eq!(
            evaluate(&p, &canary(&pat(0, 19)), &k, None),
            Evaluation::default()
        );
        // and the first checkpoint decides instead
        let e = evaluate(&p, &canary(&pat(0, 20)), &k, None);
        assert_eq!(results(&e), vec![(20, CheckResult::RolledBack)]);
        assert_eq!(e.decision, Some(REGRESSION));
    }

    #[test]
    fn early_failures_not_below_min_samples_leave_it_to_the_checkpoint() {
        let p = Policy {
            min_samples: 5,
            early_failures: 5,
            ..Policy::default()
        };
        let e = evaluate(&p, &canary(&pat(0, 5)), &control_before(56, 24), None);
        assert_eq!(results(&e), vec![(5, CheckResult::RolledBack)]);
        assert_eq!(e.decision, Some(REGRESSION));
    }

    #[test]
    fn report_strings() {
        let cases = [
            (CheckResult::Continue.to_string(), "continue"),
            (CheckResult::RolledBack.to_string(), "rolled_back"),
            (CheckResult::AutoPromoted.to_string(), "auto_promoted"),
            (CheckResult::Rejected.to_string(), "rejected"),
            (Reason::Regression.to_string(), "regression"),
            (Reason::EarlyFailures.to_string(), "early-failures"),
            (Reason::Inconclusive.to_string(), "inconclusive"),
            (
                serde_json::to_string(&REGRESSION).unwrap(),
                r#"{"decision":"rolled_back","reason":"regression"}"#,
            ),
            (
                serde_json::to_string(&EARLY).unwrap(),
                r#"{"decision":"rolled_back","reason":"early-failures"}"#,
            ),
            (
                serde_json::to_string(&Decision::Graduated).unwrap(),
                r#"{"decision":"auto_promoted"}"#,
            ),
            (
                serde_json::to_string(&INCONCLUSIVE).unwrap(),
                r#"{"decision":"rejected","reason":"inconclusive"}"#,
            ),
            (
                serde_json::to_string(&CheckResult::AutoPromoted).unwrap(),
                r#""auto_promoted""#,
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        let cp = Checkpoint {
            at: 20,
            canary: tally(8, 12),
            control: tally(70, 10),
            p_worse: 0.75,
            p_better: 0.25,
            result: CheckResult::Continue,
        };
        assert_eq!(
            serde_json::to_string(&cp).unwrap(),
            r#"{"at":20,"canary":{"success":8,"failure":12},"control":{"success":70,"failure":10},"p_worse":0.75,"p_better":0.25,"result":"continue"}"#
        );
    }

    // ---- the rule's error rates ------------------------------------------

    /// splitmix64: a tiny deterministic generator, enough for a simulation.
    struct SplitMix(u64);
    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        /// Uniform in [0, 1).
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// How often a canary with success rate `canary_rate` graduates against a
    /// champion at `champion_rate`, when a fraction `sample` of dispatches goes to
    /// the canary and runs end in dispatch order.
    fn graduation_rate(
        p: &Policy,
        champion_rate: f64,
        canary_rate: f64,
        sample: f64,
        trials: u32,
        seed: u64,
    ) -> f64 {
        let mut rng = SplitMix(seed);
        let outcome = |rng: &mut SplitMix, rate: f64| if rng.unit() < rate { S } else { F };
        let mut graduated = 0;
        for _ in 0..trials {
            let (mut c, mut k) = (Vec::new(), Vec::new());
            let mut key = 0u32;
            while c.len() < p.max_samples as usize {
                key += 1;
                if rng.unit() < sample {
                    c.push(Ended {
                        key,
                        outcome: outcome(&mut rng, canary_rate),
                    });
                } else {
                    k.push(Ended {
                        key,
                        outcome: outcome(&mut rng, champion_rate),
                    });
                }
            }
            // one evaluation of everything equals evaluating as outcomes arrive
            if evaluate(p, &c, &k, None).decision == Some(Decision::Graduated) {
                graduated += 1;
            }
        }
        f64::from(graduated) / f64::from(trials)
    }

    #[test]
    fn a_worse_canary_seldom_graduates_and_a_better_one_mostly_does() {
        // against a control at 0.7: a canary at 0.6 graduates about 12% of
        // the time, at 0.5 about 1%, at 0.8 about 90%; few trials, wide
        // tolerances: a guard against a broken rule, not a measurement
        let p = Policy::default();
        let cases = [(0.6, 0.12, 0.04), (0.5, 0.01, 0.02), (0.8, 0.90, 0.04)];
        for (canary_rate, want, tolerance) in cases {
            let got = graduation_rate(&p, 0.7, canary_rate, 0.2, 1500, 7);
            assert!(
                (got - want).abs() <= tolerance,
                "canary at {canary_rate}: graduates {got}, expected about {want}"
            );
        }
    }

    /// `cargo test --lib core::canary -- --ignored --nocapture` prints the rates,
    /// beside those of "graduate at max_samples unless rolled back".
    #[test]
    #[ignore]
    fn measure_error_rates() {
        let p = Policy::default();
        let lax = Policy {
            graduate_at_max: -1.0,
            ..Policy::default()
        };
        for canary_rate in [0.5, 0.6, 0.7, 0.8] {
            let rate = graduation_rate(&p, 0.7, canary_rate, 0.2, 20_000, 42);
            let lax_rate = graduation_rate(&lax, 0.7, canary_rate, 0.2, 20_000, 42);
            eprintln!(
                "champion 0.70, canary {canary_rate:.2}: graduates {rate:.4} \
                 (unless rolled back: {lax_rate:.4})"
            );
        }
    }

    // ---- hand changes ------------------------------------------------------

    #[test]
    fn hand_changes_are_refused_with_one_line_saying_why() {
        use HandChange::*;
        let t = |status, live_canary, canary_on| HandTarget {
            name: "implementer",
            version: 2,
            status,
            live_canary,
            canary_on,
        };
        let cases = [
            // (change, target, refused because ... (None: allowed))
            (
                StartCanary,
                t(Some(VersionStatus::Candidate), None, true),
                None,
            ),
            (
                StartCanary,
                t(Some(VersionStatus::Candidate), None, false),
                Some("needs harvest.canary = true"),
            ),
            (
                StartCanary,
                t(Some(VersionStatus::Candidate), Some(3), true),
                Some("already has a live canary (version 3)"),
            ),
            (
                StartCanary,
                t(Some(VersionStatus::Canary), Some(2), true),
                Some("is already the live canary"),
            ),
            (
                StartCanary,
                t(Some(VersionStatus::Current), None, true),
                Some("is current; only a candidate"),
            ),
            (
                StartCanary,
                t(Some(VersionStatus::Rejected), None, true),
                Some("is rejected; only a candidate"),
            ),
            (
                StartCanary,
                t(None, None, true),
                Some("implementer@2 does not exist"),
            ),
            (
                Promote,
                t(Some(VersionStatus::Candidate), None, false),
                None,
            ),
            (
                Promote,
                t(Some(VersionStatus::Canary), Some(2), false),
                None,
            ),
            (
                Promote,
                t(Some(VersionStatus::Candidate), Some(3), true),
                Some("has a live canary (version 3)"),
            ),
            (
                Promote,
                t(Some(VersionStatus::Current), None, true),
                Some("is already current"),
            ),
            (
                Promote,
                t(Some(VersionStatus::Retired), None, true),
                Some("is retired and cannot be promoted"),
            ),
            (
                Promote,
                t(Some(VersionStatus::Rejected), None, true),
                Some("is rejected and cannot be promoted"),
            ),
            (Promote, t(None, None, true), Some("does not exist")),
            (
                Reject,
                t(Some(VersionStatus::Candidate), Some(3), true),
                None,
            ),
            (Reject, t(Some(VersionStatus::Canary), Some(2), false), None),
            (
                Reject,
                t(Some(VersionStatus::Current), None, true),
                Some("is current; promote another version first"),
            ),
            (
                Reject,
                t(Some(VersionStatus::Rejected), None, true),
                Some("is already rejected"),
            ),
            (
                Reject,
                t(Some(VersionStatus::Retired), None, true),
                Some("is already retired"),
            ),
            (Reject, t(None, None, true), Some("does not exist")),
        ];
        for (change, target, want) in cases {
            let got = refusal(change, &target);
            match (want, &got) {
                (None, None) => {}
                (Some(w), Some(g)) => {
                    assert!(g.contains(w), "{change:?} {target:?}: {g}");
                    assert!(!g.contains('\n'), "one line: {g}");
                }
                _ => panic!("{change:?} {target:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn the_next_checkpoint_follows_the_last_evaluated_one() {
        let p = Policy::default();
        let wide = Policy {
            check_every: 100,
            ..Policy::default()
        };
        let cases = [
            (&p, None, Some(20)),
            (&p, Some(20), Some(30)),
            (&p, Some(30), Some(40)),
            (&p, Some(40), None),
            // check_every larger than the range: min_samples, then max_samples
            (&wide, None, Some(20)),
            (&wide, Some(20), Some(40)),
        ];
        for (policy, last, want) in cases {
            assert_eq!(
                next_checkpoint(policy, last),
                want,
                "{last:?} every {}",
                policy.check_every
            );
        }
    }

    #[test]
    fn the_event_text_names_the_version_and_the_deciding_numbers() {
        let p = Policy::default();
        let cp = Checkpoint {
            at: 20,
            canary: tally(8, 12),
            control: tally(70, 10),
            p_worse: 0.9991,
            p_better: 0.0009,
            result: CheckResult::RolledBack,
        };
        let cases = [
            (
                EARLY,
                None,
                "implementer@2 rolled back (early-failures): its first 5 outcomes all failed; implementer@1 stays current",
            ),
            (
                REGRESSION,
                Some(&cp),
                "implementer@2 rolled back (regression) at 20 outcomes: canary 8/12, control 70/10 (success/failure), P(worse) 0.999, P(better) 0.001; implementer@1 stays current",
            ),
            (
                Decision::Graduated,
                Some(&cp),
                "implementer@2 graduated to current at 20 outcomes: canary 8/12, control 70/10 (success/failure), P(worse) 0.999, P(better) 0.001; implementer@1 retired",
            ),
            (
                INCONCLUSIVE,
                Some(&cp),
                "implementer@2 rejected (inconclusive) at 20 outcomes: canary 8/12, control 70/10 (success/failure), P(worse) 0.999, P(better) 0.001, not above graduate_at_max 0.5; implementer@1 stays current",
            ),
        ];
        for (d, last, want) in cases {
            assert_eq!(end_text(&p, "implementer", 2, Some(1), d, last), want);
        }
    }

    // ---- transitions -----------------------------------------------------

    #[test]
    fn a_graduated_canary_becomes_current_and_retires_the_old_any_other_end_rejects_it() {
        let r = Reason::Regression;
        let cases = [
            (
                Decision::Graduated,
                VersionStatus::Current,
                true,
                EventKind::CandidateAutoPromoted,
            ),
            (
                Decision::RolledBack { reason: r },
                VersionStatus::Rejected,
                false,
                EventKind::CandidateRolledBack,
            ),
            (
                Decision::Rejected { reason: r },
                VersionStatus::Rejected,
                false,
                EventKind::CandidateRolledBack,
            ),
        ];
        for (d, to, retire, event) in cases {
            let t = decided(d);
            assert_eq!(
                (t.to, t.retire_current, t.event),
                (to, retire, event),
                "{d:?}"
            );
            assert_eq!(t.result, d.result().to_string());
            assert_eq!(t.reason, d.reason().map(|r| r.to_string()));
        }
    }

    #[test]
    fn a_hand_change_is_by_hand_and_only_a_promotion_retires_the_current() {
        let p = by_hand(HandChange::Promote).unwrap();
        assert_eq!(
            (p.to, p.retire_current, p.event),
            (VersionStatus::Current, true, EventKind::CandidatePromoted)
        );
        let r = by_hand(HandChange::Reject).unwrap();
        assert_eq!(
            (r.to, r.retire_current, r.event),
            (VersionStatus::Rejected, false, EventKind::CandidateRejected)
        );
        for t in [&p, &r] {
            assert_eq!(t.reason.as_deref(), Some("by-hand"));
        }
        assert_eq!(by_hand(HandChange::StartCanary), None);
        assert_eq!(
            hand_text(HandChange::Promote, "impl", 3, true, Some(2)),
            "impl@3 promoted to current by hand (it was the live canary); impl@2 retired"
        );
        assert_eq!(
            hand_text(HandChange::Promote, "impl", 3, false, None),
            "impl@3 promoted to current by hand"
        );
        assert_eq!(
            hand_text(HandChange::Reject, "impl", 3, false, None),
            "impl@3 rejected by hand"
        );
    }

    #[test]
    fn a_new_version_is_current_first_then_a_candidate_or_the_canary_when_allowed() {
        use VersionStatus::*;
        type Want = Result<(i64, VersionStatus), &'static str>;
        // (last version, --canary, live canary, harvest.canary, want)
        type Case = (Option<i64>, bool, Option<i64>, bool, Want);
        let cases: [Case; 6] = [
            (None, false, None, false, Ok((1, Current))),
            (None, true, None, true, Err("has no current version yet")),
            (Some(2), false, None, false, Ok((3, Candidate))),
            (Some(2), true, None, true, Ok((3, Canary))),
            (
                Some(2),
                true,
                None,
                false,
                Err("needs harvest.canary = true"),
            ),
            (
                Some(2),
                true,
                Some(2),
                true,
                Err("already has a live canary (version 2)"),
            ),
        ];
        for (last, canary, live, on, want) in cases {
            let got = added("impl", last, canary, live, on);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w),
                (Err(g), Err(w)) => assert!(g.0.contains(w), "{g}"),
                (g, w) => panic!("{last:?} {canary}: got {g:?}, want {w:?}"),
            }
        }
    }
}
