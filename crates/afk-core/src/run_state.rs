// One file: the state machine (~750 lines, one ordered table of rows) and the table tests that pin each row.
//! The run state machine (docs/how-it-works.md#afk-watch-the-lifecycle): a pure
//! function from what watch observed about one run to the next action.

use crate::budget::{Limit, spend};
use crate::types::TurnBudget;
use std::fmt;
use std::time::Duration;

pub use crate::types::RunStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Running,
    Exited(i32),
    /// Gone without an exit status: treated as exited with failure.
    Vanished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pr {
    None,
    Open,
    Merged,
    Closed,
}

/// A commit-status verdict over the contexts that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// No status at all yet.
    None,
    Pending,
    Success,
    Failure,
}

impl Checks {
    /// The word stored of it and shown (the status page's CI of a run).
    pub fn word(self) -> &'static str {
        match self {
            Checks::None => "none",
            Checks::Pending => "pending",
            Checks::Success => "green",
            Checks::Failure => "red",
        }
    }
}

/// Why a turn's work could not be forwarded
/// (docs/how-it-works.md#the-workspace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushProblem {
    Conflict,
    Refused,
    /// the change gate refused the turn (docs/security.md#the-change-gate);
    /// `again`: the refused turn was itself a `gate` turn
    Gated {
        again: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    /// An end state already decided on an earlier tick whose forge writes are
    /// not all done: it is carried on, whatever is observed now.
    pub decided: Option<Action>,
    pub agent: Agent,
    /// The agent said it is blocked (progress line `{"status":"blocked"}`).
    pub blocked: bool,
    /// The runner says the agent cannot start
    /// (docs/runners.md#kubernetes-a-job-per-turn: a pod that cannot pull its
    /// image, cannot be configured or scheduled): it never will.
    /// The reason, from the runner (outside text).
    pub cannot_start: Option<String>,
    /// What forwarding the last turn's work met
    /// (docs/how-it-works.md#the-workspace): a conflict with someone else's
    /// push, or a checkout afk refuses.
    pub push_problem: Option<PushProblem>,
    pub pr: Pr,
    /// The PR's current head, and the commit the CI verdict belongs to.
    pub head_sha: Option<String>,
    pub ci_sha: Option<String>,
    pub ci: Checks,
    /// `watch.deploy_context` is set.
    pub deploy_configured: bool,
    /// The deploy verdict on the merge commit.
    pub deploy: Checks,
    /// The run's turns so far, its first included (review turns too: the
    /// corrective turns used are [`RunState::fix_turns_used`]), and
    /// `watch.fix_forward_max`.
    pub turns: u32,
    pub fix_forward_max: u32,
    pub since_progress: Duration,
    pub stall_after: Duration,
    pub issue_open: bool,
    pub in_progress_label: bool,
    /// What the run's agents reported spending (None: nothing yet), and
    /// `budget.run_usd` (0: no limit).
    pub spend_usd: Option<f64>,
    pub run_usd: f64,
    /// A turn was stopped at a money limit, and who stopped it: the model
    /// gateway (docs/runners.md#the-model-gateway-runnermodel), with the
    /// limit and the figures it left (`gateway::budget::Refusal::reached`),
    /// or the agent at its own `--max-budget-usd`. Over budget whatever
    /// the run's own spend says (a day limit, or a run stopped at its limit
    /// exactly).
    pub budget_stop: Option<spend::BudgetStop>,
    /// Time since dispatch, and `budget.run_time` (None: no limit).
    pub age: Duration,
    pub run_time: Option<Duration>,
    /// The conversation on the PR (docs/reviews.md).
    pub talk: Talk,
    /// Pausing at a limit instead of escalating.
    pub pause: Pausing,
}

/// What a pause at `run_usd` or `run_time` needs. The default never
/// pauses: `pause_for = "0s"`, the old rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pausing {
    /// `budget.pause_for`; None (`"0s"`): a limit escalates at once
    pub pause_for: Option<Duration>,
    /// the run is paused, at which limit and for how long now
    pub paused: Option<Paused>,
    /// a trusted person continued it since the pause (a `budget` raise
    /// carried out, or `resume`)
    pub continued: Option<ContinuedBy>,
    /// the kill switch is on (`poll.enabled = false`): the brakes stop a
    /// continuation too, the run waits paused (the stop file stops the
    /// whole tick before it decides anything)
    pub braked: bool,
    /// the model gateway stopped the run's turn at a day's cap
    /// ([`Limit::DayUsd`] or [`Limit::RepoDayUsd`], its stop record's
    /// limit): the run pauses until the next 00:00 UTC
    pub day_stop: Option<Limit>,
    /// the run has continued by itself after a day's-cap pause as often as
    /// `budget.day_continuations` allows: a day's cap ends, and its next
    /// pause waits for a person like a `run_usd` pause
    pub day_spent: bool,
}

/// A run paused at one of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paused {
    pub limit: Limit,
    /// time since the pause
    pub since: Duration,
    /// a UTC midnight came since the pause (`turn_day::day_reopened`): a
    /// pause at a day's cap continues by itself
    pub day_reopened: bool,
}

/// How a run at `limit` escalates when it does not pause, or when its
/// pause ends with nobody continuing it (the word is
/// [`Limit::escalates_as`]).
pub(crate) fn escalation_at(limit: Limit) -> Escalation {
    match limit {
        Limit::RunUsd | Limit::DayUsd | Limit::RepoDayUsd => Escalation::OverBudget,
        Limit::RunTime => Escalation::Timeout,
    }
}

/// Who continued a paused run: a `budget` raise or `resume` (the report's
/// `reason` of `continue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContinuedBy {
    Budget,
    Resume,
    /// nobody: a new UTC day reopened the day's cap
    Day,
}

impl ContinuedBy {
    /// The stored word, the report's `reason` of `continue`.
    pub fn key(self) -> &'static str {
        match self {
            ContinuedBy::Budget => "budget",
            ContinuedBy::Resume => "resume",
            ContinuedBy::Day => "day",
        }
    }
    /// A stored word read back; None for any other.
    pub fn parse(s: &str) -> Option<ContinuedBy> {
        [ContinuedBy::Budget, ContinuedBy::Resume, ContinuedBy::Day]
            .into_iter()
            .find(|c| c.key() == s)
    }
}

/// What the conversation on the issue and the PR asks of a run
/// (docs/reviews.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Talk {
    /// a trusted `stop` command
    pub stop: bool,
    /// a trusted `hold` with no `resume` after it
    pub held: bool,
    /// the budgets of the turns trusted people asked for (a
    /// changes-requested review, a command) and not taken yet
    pub asked: Vec<TurnBudget>,
    /// review turns already used, and `watch.review_turns_max`
    pub review_turns_used: u32,
    pub review_turns_max: u32,
    /// what a PR the forge may call conflicting gets (`conversation::conflict_step`)
    pub conflict: Option<crate::conversation::ConflictStep>,
    /// `watch.retest_comment` is set and not yet posted on this head
    pub retest_due: bool,
    /// the retest comment is posted on this head and no result came after
    /// it (`conversation::retest_waits`): the red is the old one
    pub retest_waiting: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    Agent,
    Ci,
    Merge,
    Deploy,
    /// a trusted `hold`: nothing but money limits until `resume`
    Held,
    /// paused at a limit: a person continues it, or `pause_for` ends it
    Paused,
    /// continued by a person, but the kill switch is on: the continuation
    /// starts at the first tick after it is off
    KillSwitch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    Stalled,
    NoPr,
    CiRed,
    DeployFailed,
    PrClosed,
    Blocked,
    /// The run's reported spend is over `budget.run_usd`.
    OverBudget,
    /// The run's age is over `budget.run_time`.
    Timeout,
    /// The runner says the agent cannot start at all (a kubernetes pod's
    /// `ImagePullBackOff`, `CreateContainerConfigError`, unschedulable...).
    AgentFailed,
    /// A trusted reviewer still asks for changes and no review turn is left.
    ReviewUnresolved,
    /// A trusted `stop` command.
    Stopped,
    /// The PR conflicts with its base and no corrective turn is left.
    Conflict,
    /// Someone else pushed the run's branch and the turn's work does not
    /// apply on their head (docs/how-it-works.md#the-workspace): kept as a
    /// bundle.
    PushConflict,
    /// afk will not forward the turn's checkout
    /// (docs/how-it-works.md#the-workspace: a link or another repository's
    /// objects in it, a file over the limit).
    PushRefused,
    /// The change gate refused the turn, and its one `gate` turn was spent
    /// or no corrective turn is left (docs/security.md#the-change-gate).
    GateRefused,
}

impl Escalation {
    pub const ALL: [Escalation; 15] = [
        Escalation::Stalled,
        Escalation::NoPr,
        Escalation::CiRed,
        Escalation::DeployFailed,
        Escalation::PrClosed,
        Escalation::Blocked,
        Escalation::OverBudget,
        Escalation::Timeout,
        Escalation::AgentFailed,
        Escalation::ReviewUnresolved,
        Escalation::Stopped,
        Escalation::Conflict,
        Escalation::PushConflict,
        Escalation::PushRefused,
        Escalation::GateRefused,
    ];
    pub fn parse(s: &str) -> Option<Escalation> {
        Escalation::ALL.into_iter().find(|e| e.to_string() == s)
    }
}

impl fmt::Display for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Escalation::Stalled => "stalled",
            Escalation::NoPr => "no-pr",
            Escalation::CiRed => "ci-red",
            Escalation::DeployFailed => "deploy-failed",
            Escalation::PrClosed => "pr-closed",
            Escalation::Blocked => "blocked",
            Escalation::OverBudget => "over-budget",
            Escalation::Timeout => "timeout",
            Escalation::AgentFailed => "agent-failed",
            Escalation::ReviewUnresolved => "review-unresolved",
            Escalation::Stopped => "stopped",
            Escalation::Conflict => "conflict",
            Escalation::PushConflict => "push-conflict",
            Escalation::PushRefused => "push-refused",
            Escalation::GateRefused => "gate-refused",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// "you stopped without opening a PR"
    NoPr,
    /// the failing contexts and their build URLs
    CiRed,
    /// a trusted person asked for it (a review's changes requested, a
    /// command: `TalkSaid::effect`), counted against its budget
    Asked(TurnBudget),
    /// the base moved and the PR conflicts
    Conflict,
    /// the change gate refused the turn: what to undo
    Gate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Wait(Wait),
    CorrectiveTurn(Correction),
    Escalate(Escalation),
    Succeed,
    Abandon,
    /// ask the forge to bring the PR's branch up to date (once per base)
    UpdateBranch(crate::types::UpdateStyle),
    /// post `watch.retest_comment` on the PR (once per head)
    Retest,
    /// the run reached a limit and `pause_for` is set: stop the agent,
    /// forward its work, keep its state, and wait for a person
    Pause(Limit),
    /// a paused run was continued with room under every limit: a
    /// continuation turn, resuming the agent's session, counted against no
    /// corrective budget
    Continue(ContinuedBy),
}

impl Action {
    /// The `action` string of the watch report.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Wait(_) => "wait",
            Action::CorrectiveTurn(_) => "corrective_turn",
            Action::Escalate(_) => "escalate",
            Action::Succeed => "succeed",
            Action::Abandon => "abandon",
            Action::UpdateBranch(_) => "update_branch",
            Action::Retest => "retest",
            Action::Pause(_) => "pause",
            Action::Continue(_) => "continue",
        }
    }
    pub fn reason(&self) -> Option<String> {
        match self {
            Action::Wait(w) => Some(
                match w {
                    Wait::Agent => "agent-running",
                    Wait::Ci => "ci-pending",
                    Wait::Merge => "awaiting-merge",
                    Wait::Deploy => "deploy-pending",
                    Wait::Held => "held",
                    Wait::Paused => "paused",
                    Wait::KillSwitch => "kill-switch",
                }
                .into(),
            ),
            Action::CorrectiveTurn(Correction::NoPr) => Some("no-pr".into()),
            Action::CorrectiveTurn(Correction::CiRed) => Some("ci-red".into()),
            Action::CorrectiveTurn(Correction::Asked(TurnBudget::Review)) => Some("review".into()),
            Action::CorrectiveTurn(Correction::Asked(TurnBudget::Fix)) => Some("asked".into()),
            Action::CorrectiveTurn(Correction::Conflict) => Some("conflict".into()),
            Action::CorrectiveTurn(Correction::Gate) => Some("gate".into()),
            Action::UpdateBranch(_) => Some("conflict".into()),
            Action::Retest => Some("ci-red".into()),
            Action::Escalate(e) => Some(e.to_string()),
            Action::Pause(limit) => Some(limit.key().into()),
            Action::Continue(by) => Some(by.key().into()),
            Action::Succeed | Action::Abandon => None,
        }
    }

    /// The decision in a few words, `wait awaiting-merge`: what `afk status`
    /// shows of where the run stands.
    pub fn said(&self) -> String {
        match self.reason() {
            Some(why) => format!("{} {why}", self.name()),
            None => self.name().to_string(),
        }
    }
}

/// A red CI on an agent's PR teaches something whether afk tries again (a
/// corrective turn, or a turn someone asked for against the fix budget
/// while CI is red: it is the red's turn too) or gives up (a `ci-red`
/// escalation, at once when `watch.fix_forward_max` is 0): each records a
/// `gate_failure` lesson. A review turn leaves the red to the turn after it.
pub fn records_gate_failure(a: &Action, ci: Checks) -> bool {
    match a {
        Action::CorrectiveTurn(Correction::CiRed) | Action::Escalate(Escalation::CiRed) => true,
        Action::CorrectiveTurn(Correction::Asked(TurnBudget::Fix)) => ci == Checks::Failure,
        _ => false,
    }
}

/// A lesson's `agent`: the account the agent pushed as (the PR's author,
/// else `runner.agent_login`) and the prompt it worked from.
pub fn agent_of(
    pushed_by: Option<&str>,
    agent_login: &str,
    template: Option<(&str, Option<i64>)>,
) -> String {
    let who = pushed_by
        .filter(|l| !l.is_empty())
        .or(Some(agent_login).filter(|l| !l.is_empty()))
        .unwrap_or("agent");
    match template {
        Some((name, Some(v))) => format!("{who} ({name}@{v})"),
        Some((name, None)) => format!("{who} ({name}, built-in)"),
        None => who.to_string(),
    }
}

/// The next action for a run. Rows of the table in
/// docs/how-it-works.md#afk-watch-the-lifecycle, in order, with two precedences
/// made explicit: a merged PR wins over "issue closed" (forges close the issue
/// themselves on merge), and a person closing the issue or removing the label
/// wins over everything else (stop the agent rather than wait for it).
///
/// The budget row comes next: a run over `run_usd` or `run_time` is stopped
/// before anything else happens to it, so no corrective turn starts over
/// budget. A merged PR is past the agent's work and is not stopped for it; a
/// green PR waiting for a person's merge is not the agent's time (as it is
/// never a stall), so `run_time` does not end it, while money over `run_usd`
/// is over, whatever the PR.
/// What afk knows of a run without the forge (its own files and store):
/// enough for the limits, which never depend on reading outside text.
#[derive(Debug, Clone)]
pub struct Blind {
    /// a trusted `/afk hold` stands (heard on an earlier tick)
    pub held: bool,
    /// the PR was last seen green (`green_since` stored): a merge hold,
    /// which neither run time nor the stall clock ends
    pub awaiting_merge: bool,
    pub spend_usd: Option<f64>,
    pub run_usd: f64,
    /// as [`RunState::budget_stop`]
    pub budget_stop: Option<spend::BudgetStop>,
    pub age: std::time::Duration,
    pub run_time: Option<std::time::Duration>,
    pub since_progress: std::time::Duration,
    pub stall_after: std::time::Duration,
}

/// The limits over a run whose forge reads failed this tick (its PR list,
/// comments, reviews or forwarding could not be read): the money limit, run
/// time and the stall clock still apply, from what afk holds itself, in the
/// same order as [`next_action`]'s rows. None: no limit is over (wait).
pub fn limit_over(b: &Blind) -> Option<Escalation> {
    if spend::over_run_usd(b.run_usd, b.spend_usd) || b.budget_stop.is_some() {
        return Some(Escalation::OverBudget);
    }
    if b.held || b.awaiting_merge {
        return None;
    }
    if spend::over_run_time(b.run_time, b.age) {
        return Some(Escalation::Timeout);
    }
    if b.since_progress >= b.stall_after {
        return Some(Escalation::Stalled);
    }
    None
}

pub fn next_action(s: &RunState) -> Action {
    if let Some(a) = s.decided {
        return a;
    }
    let budget_left = s.fix_turns_used() < s.fix_forward_max;
    if s.pr == Pr::Merged {
        if !s.deploy_configured || s.deploy == Checks::Success {
            return Action::Succeed;
        }
        if s.deploy == Checks::Failure {
            return Action::Escalate(Escalation::DeployFailed);
        }
    }
    // a trusted `stop` wins over every row but the merged ones
    if s.talk.stop && s.pr != Pr::Merged {
        return Action::Escalate(Escalation::Stopped);
    }
    if s.pr != Pr::Merged && (!s.issue_open || !s.in_progress_label) {
        return Action::Abandon;
    }
    // paused: continued, ended by `pause_for`, or waiting; no other row
    if let Some(p) = s.pause.paused
        && s.pr != Pr::Merged
    {
        return paused(s, p);
    }
    // held: only money limits, the merged rows and people's actions apply
    if s.talk.held && s.pr != Pr::Merged {
        if s.over_money() {
            return s.at_limit(s.money_limit());
        }
        return Action::Wait(Wait::Held);
    }
    // A green PR waits for a person, not for the agent: that is a merge hold
    // (a lesson after a day), never a stall.
    let awaiting_merge = s.pr == Pr::Open
        && s.ci == Checks::Success
        && s.ci_sha.is_some()
        && s.ci_sha == s.head_sha
        && s.agent != Agent::Running;
    if s.pr != Pr::Merged {
        if s.over_money() {
            return s.at_limit(s.money_limit());
        }
        if spend::over_run_time(s.run_time, s.age) && !awaiting_merge {
            return s.at_limit(Limit::RunTime);
        }
    }
    // an agent that cannot start says nothing and never will: escalate with
    // the runner's reason rather than wait for the stall clock
    if s.cannot_start.is_some() {
        return Action::Escalate(Escalation::AgentFailed);
    }
    // the turn's work could not reach the forge: a person decides
    match s.push_problem {
        Some(PushProblem::Conflict) => return Action::Escalate(Escalation::PushConflict),
        Some(PushProblem::Refused) => return Action::Escalate(Escalation::PushRefused),
        Some(PushProblem::Gated { .. }) | None => {}
    }
    if s.blocked {
        return Action::Escalate(Escalation::Blocked);
    }
    if s.since_progress >= s.stall_after && !awaiting_merge {
        return Action::Escalate(Escalation::Stalled);
    }
    // the change gate refused the turn: one `gate` turn, then a person
    if let Some(PushProblem::Gated { again }) = s.push_problem {
        return match budget_left && !again {
            true => Action::CorrectiveTurn(Correction::Gate),
            false => Action::Escalate(Escalation::GateRefused),
        };
    }
    if s.agent == Agent::Running {
        return Action::Wait(Wait::Agent);
    }
    after_the_turn(s, budget_left)
}

/// The rows of a paused run, in order: continued with room under every
/// limit (a hold standing waits for its `resume`), or paused at a day's cap
/// and a new UTC day begun (continued by itself), then a pause older than
/// `pause_for` escalates as the limit always did (a day's pause has no such
/// deadline), else it waits. Nothing else applies: no corrective turn, no
/// stall, no review turn.
fn paused(s: &RunState, p: Paused) -> Action {
    // a day's cap continues by itself while its continuations last; then it
    // is a pause like any other, for a person to continue or `pause_for` to end
    let by_itself = p.limit.is_day() && !s.pause.day_spent;
    let day = (by_itself && p.day_reopened).then_some(ContinuedBy::Day);
    if let Some(by) = s.pause.continued.or(day)
        && s.has_room()
        && !s.talk.held
    {
        // the brakes stop a continuation, never the decision to continue
        if s.pause.braked {
            return Action::Wait(Wait::KillSwitch);
        }
        return Action::Continue(by);
    }
    // with pausing since switched off ("0s"), a paused run ends at once
    let over = match s.pause.pause_for {
        None => true,
        Some(_) if by_itself => false,
        Some(limit) => p.since >= limit,
    };
    if over {
        return Action::Escalate(escalation_at(p.limit));
    }
    Action::Wait(Wait::Paused)
}

/// The rows once the agent's turn has ended and no end row applied: what a
/// person asked for, a conflict, then the PR's own state and its CI.
fn after_the_turn(s: &RunState, budget_left: bool) -> Action {
    // a person asked for a turn (a review, or a command), whatever CI says:
    // a review turn first; a spent review budget escalates
    if matches!(s.pr, Pr::Open | Pr::None) {
        if s.talk.asked.contains(&TurnBudget::Review) {
            return if s.talk.review_turns_used < s.talk.review_turns_max {
                Action::CorrectiveTurn(Correction::Asked(TurnBudget::Review))
            } else {
                Action::Escalate(Escalation::ReviewUnresolved)
            };
        }
        // with no corrective turn left, the ask waits and the run's own
        // rows decide (a red CI escalates as ever)
        if s.talk.asked.contains(&TurnBudget::Fix) && budget_left {
            return Action::CorrectiveTurn(Correction::Asked(TurnBudget::Fix));
        }
    }
    if s.pr == Pr::Open {
        use crate::conversation::ConflictStep;
        match s.talk.conflict {
            Some(ConflictStep::UpdateBranch(style)) => return Action::UpdateBranch(style),
            Some(ConflictStep::Turn) => return Action::CorrectiveTurn(Correction::Conflict),
            Some(ConflictStep::Escalate) => return Action::Escalate(Escalation::Conflict),
            Some(ConflictStep::Clean | ConflictStep::Wait) | None => {}
        }
    }
    match s.pr {
        Pr::Merged => Action::Wait(Wait::Deploy),
        Pr::Closed => Action::Escalate(Escalation::PrClosed),
        // a failed start (127: not found) or a failure that left no PR: a
        // person reads the exit status and the log's end, rather than
        // corrective turns spent on the same failure
        Pr::None if agent_failed(s.agent) => Action::Escalate(Escalation::AgentFailed),
        Pr::None if budget_left => Action::CorrectiveTurn(Correction::NoPr),
        Pr::None => Action::Escalate(Escalation::NoPr),
        Pr::Open => {
            // only a verdict on the current head counts
            let ci = if s.ci_sha.is_some() && s.ci_sha == s.head_sha {
                s.ci
            } else {
                Checks::None
            };
            match ci {
                // the first red on a head asks CI once to run again
                Checks::Failure if s.talk.retest_due => Action::Retest,
                Checks::Failure if s.talk.retest_waiting => Action::Wait(Wait::Ci),
                Checks::Failure if budget_left => Action::CorrectiveTurn(Correction::CiRed),
                Checks::Failure => Action::Escalate(Escalation::CiRed),
                Checks::Success => Action::Wait(Wait::Merge),
                Checks::Pending | Checks::None => Action::Wait(Wait::Ci),
            }
        }
    }
}

/// Which of the asks queued a turn takes (docs/reviews.md): a turn asked for
/// takes the asks of its own budget, every one of them; any other turn takes
/// none (they wait for theirs).
pub fn takes(kind: Correction, ask: TurnBudget) -> bool {
    kind == Correction::Asked(ask)
}

/// The agent exited with a failing status (a vanished one left none: it may
/// have been stopped or its host restarted, and gets the no-PR row).
pub fn agent_failed(agent: Agent) -> bool {
    matches!(agent, Agent::Exited(c) if c != 0)
}

/// The end state a run's stored status has decided, if any (`escalating`,
/// `succeeding`, `abandoning`), with the stored escalation reason.
pub fn decided_action(status: RunStatus, end_reason: Option<&str>) -> Option<Action> {
    match status {
        RunStatus::Escalating => Some(Action::Escalate(
            Escalation::parse(end_reason.unwrap_or("")).unwrap_or(Escalation::Blocked),
        )),
        RunStatus::Succeeding => Some(Action::Succeed),
        RunStatus::Abandoning => Some(Action::Abandon),
        _ => None,
    }
}

/// Who stopped a run's last turn at a money limit, as far as the limit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSource {
    /// nobody: the turn ended otherwise (exited, killed, timed out)
    None,
    /// the model gateway, whose stop record names the limit it refused at
    Gateway(Limit),
    /// the agent at what it was handed (Claude Code's `--max-budget-usd`):
    /// the limit its turn's gate had the least room under, when kept
    Agent(Option<Limit>),
}

/// The day's cap a run's last turn was stopped at, if it was: a day's cap
/// pauses until the next 00:00 UTC and continues by itself, whoever stopped
/// the turn (the gateway at its check, the agent at what it was handed).
/// An agent's stop with no gate kept is the run's own limit.
pub fn day_stop(source: StopSource) -> Option<Limit> {
    match source {
        StopSource::Gateway(l) | StopSource::Agent(Some(l)) => Some(l).filter(|l| l.is_day()),
        StopSource::Agent(None) | StopSource::None => None,
    }
}

/// The corrective turns a run has used against `watch.fix_forward_max`:
/// every turn after the first but its review turns (those count against
/// `watch.review_turns_max`). Red CI, a missing PR and a conflict share it.
pub fn fix_turns_used(turns: u32, review_turns: u32) -> u32 {
    turns.saturating_sub(1).saturating_sub(review_turns)
}

impl RunState {
    /// Over a money limit: the run's spend over `run_usd`, or a turn the
    /// model gateway or the agent itself stopped at a limit.
    pub fn over_money(&self) -> bool {
        spend::over_run_usd(self.run_usd, self.spend_usd) || self.budget_stop.is_some()
    }

    /// The corrective turns this run has used ([`fix_turns_used`] of its
    /// turns and its review turns).
    pub fn fix_turns_used(&self) -> u32 {
        fix_turns_used(self.turns, self.talk.review_turns_used)
    }

    /// The money limit a run over money is at: its own `run_usd` when its
    /// spend is over it, else the day's cap the gateway stopped its turn at,
    /// else `run_usd` (a stop at the limit exactly, the agent's own).
    pub fn money_limit(&self) -> Limit {
        if spend::over_run_usd(self.run_usd, self.spend_usd) {
            return Limit::RunUsd;
        }
        self.pause.day_stop.unwrap_or(Limit::RunUsd)
    }

    /// A run at `limit`: paused where `budget.pause_for` is set, else
    /// escalated at once (`pause_for = "0s"`, the old rule).
    pub fn at_limit(&self, limit: Limit) -> Action {
        match self.pause.pause_for {
            Some(_) => Action::Pause(limit),
            None => Action::Escalate(escalation_at(limit)),
        }
    }

    /// Room under every limit for a paused run to go on: its spend under its
    /// money limit and its working time under its time limit, as they stand
    /// now (raised by a comment or the config). The stop record of the turn
    /// that paused it is that turn's, not a limit still reached.
    pub fn has_room(&self) -> bool {
        let money = self.run_usd <= 0.0 || self.spend_usd.unwrap_or(0.0) < self.run_usd;
        let time = self.run_time.is_none_or(|t| self.age < t);
        money && time
    }
}

#[cfg(test)]
mod fix_turns_tests {
    use super::fix_turns_used;

    /// (turns taken, of them review turns, corrective turns used)
    #[test]
    fn corrective_turns_are_the_turns_after_the_first_that_were_not_review_turns() {
        let cases = [
            (0, 0, 0),
            (1, 0, 0),
            (3, 0, 2),
            (3, 1, 1),
            (3, 2, 0),
            (2, 5, 0),
        ];
        for (turns, review, want) in cases {
            assert_eq!(fix_turns_used(turns, review), want, "{turns} {review}");
        }
    }
}

/// The agent state an agent-thread service's status means
/// (docs/runners.md#http-an-agent-thread-service): `running` runs, `idle`
/// finished its turn, anything else failed.
pub fn thread_agent(status: &str) -> Agent {
    match status {
        "running" => Agent::Running,
        "idle" => Agent::Exited(0),
        _ => Agent::Exited(1),
    }
}

#[cfg(test)]
mod blind_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limits_apply_when_the_forge_cannot_be_read() {
        let h = Duration::from_secs(3600);
        let base = Blind {
            held: false,
            awaiting_merge: false,
            spend_usd: Some(1.0),
            run_usd: 5.0,
            budget_stop: None,
            age: h,
            run_time: Some(4 * h),
            since_progress: h,
            stall_after: 3 * h,
        };
        let with = |f: &dyn Fn(&mut Blind)| {
            let mut b = base.clone();
            f(&mut b);
            limit_over(&b)
        };
        let stop = || {
            Some(spend::BudgetStop::Gateway(
                "budget.day_usd $5.00 reached".to_string(),
            ))
        };
        let cases: [(&str, Option<Escalation>); 9] = [
            ("nothing over", with(&|_| {})),
            ("money", with(&|b| b.spend_usd = Some(6.0))),
            // the gateway stopped a turn at a limit: over, whatever the run's figure
            ("the gateway's stop", with(&|b| b.budget_stop = stop())),
            (
                "the gateway's stop, even held",
                with(&|b| {
                    b.budget_stop = stop();
                    b.held = true
                }),
            ),
            (
                "money, even held",
                with(&|b| {
                    b.spend_usd = Some(6.0);
                    b.held = true
                }),
            ),
            ("run time", with(&|b| b.age = 5 * h)),
            ("stalled", with(&|b| b.since_progress = 3 * h)),
            (
                "held: no run time",
                with(&|b| {
                    b.held = true;
                    b.age = 5 * h
                }),
            ),
            (
                "awaiting merge: no stall",
                with(&|b| {
                    b.awaiting_merge = true;
                    b.since_progress = 9 * h
                }),
            ),
        ];
        let want = [
            None,
            Some(Escalation::OverBudget),
            Some(Escalation::OverBudget),
            Some(Escalation::OverBudget),
            Some(Escalation::OverBudget),
            Some(Escalation::Timeout),
            Some(Escalation::Stalled),
            None,
            None,
        ];
        for ((what, got), want) in cases.into_iter().zip(want) {
            assert_eq!(got, want, "{what}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pause comment's word for a limit's escalation is the state
    /// machine's.
    #[test]
    fn a_limit_escalates_as_the_state_machine_says() {
        let table = [
            (Limit::RunUsd, Escalation::OverBudget),
            (Limit::DayUsd, Escalation::OverBudget),
            (Limit::RepoDayUsd, Escalation::OverBudget),
            (Limit::RunTime, Escalation::Timeout),
        ];
        for (limit, want) in table {
            assert_eq!(escalation_at(limit), want, "{limit:?}");
            assert_eq!(limit.escalates_as(), want.to_string(), "{limit:?}");
        }
    }

    #[test]
    fn a_turn_takes_only_the_asks_of_its_own_budget() {
        use TurnBudget::{Fix, Review};
        let table = [
            (Correction::Asked(Review), Review, true),
            (Correction::Asked(Review), Fix, false),
            (Correction::Asked(Fix), Fix, true),
            (Correction::Asked(Fix), Review, false),
            (Correction::CiRed, Fix, false),
            (Correction::CiRed, Review, false),
            (Correction::NoPr, Fix, false),
            (Correction::Conflict, Review, false),
        ];
        for (kind, ask, want) in table {
            assert_eq!(takes(kind, ask), want, "{kind:?} {ask:?}");
        }
    }

    #[test]
    fn an_action_is_said_by_its_name_then_its_reason() {
        let table = [
            (Action::Wait(Wait::Merge), "wait awaiting-merge"),
            (
                Action::CorrectiveTurn(Correction::Asked(TurnBudget::Review)),
                "corrective_turn review",
            ),
            (Action::Escalate(Escalation::Stalled), "escalate stalled"),
            (Action::Retest, "retest ci-red"),
            (Action::Succeed, "succeed"),
            (Action::Abandon, "abandon"),
        ];
        for (a, want) in table {
            assert_eq!(a.said(), want, "{a:?}");
        }
    }

    #[test]
    fn red_ci_records_a_gate_failure_whether_afk_tries_again_or_gives_up() {
        let fix = Action::CorrectiveTurn(Correction::Asked(TurnBudget::Fix));
        let review = Action::CorrectiveTurn(Correction::Asked(TurnBudget::Review));
        // (the action, what CI says, whether a gate_failure is recorded)
        let table = [
            (
                Action::CorrectiveTurn(Correction::CiRed),
                Checks::Failure,
                true,
            ),
            (Action::Escalate(Escalation::CiRed), Checks::Failure, true),
            // a turn asked for against the fix budget while CI is red is the
            // red's turn too: the red teaches the same
            (fix, Checks::Failure, true),
            (fix, Checks::Success, false),
            (fix, Checks::Pending, false),
            // a review turn leaves the red to the corrective turn after it
            (review, Checks::Failure, false),
            (
                Action::CorrectiveTurn(Correction::NoPr),
                Checks::Failure,
                false,
            ),
            (
                Action::Escalate(Escalation::Stalled),
                Checks::Failure,
                false,
            ),
            (Action::Wait(Wait::Ci), Checks::Failure, false),
            (Action::Succeed, Checks::Success, false),
        ];
        for (a, ci, want) in table {
            assert_eq!(records_gate_failure(&a, ci), want, "{a:?} {ci:?}");
        }
    }

    #[test]
    fn a_lesson_s_agent_is_who_pushed_and_from_which_prompt() {
        let table = [
            (
                Some("bot"),
                "",
                Some(("implementer", Some(2))),
                "bot (implementer@2)",
            ),
            (
                None,
                "agent-x",
                Some(("implementer", None)),
                "agent-x (implementer, built-in)",
            ),
            (Some(""), "", None, "agent"),
        ];
        for (pushed, login, t, want) in table {
            assert_eq!(agent_of(pushed, login, t), want);
        }
    }

    fn base() -> RunState {
        RunState {
            decided: None,
            agent: Agent::Exited(0),
            blocked: false,
            cannot_start: None,
            push_problem: None,
            pr: Pr::Open,
            head_sha: Some("h2".into()),
            ci_sha: Some("h2".into()),
            ci: Checks::Pending,
            deploy_configured: false,
            deploy: Checks::None,
            turns: 1,
            fix_forward_max: 2,
            since_progress: Duration::from_secs(60),
            stall_after: Duration::from_secs(3600),
            issue_open: true,
            in_progress_label: true,
            spend_usd: Some(0.5),
            run_usd: 0.0,
            budget_stop: None,
            age: Duration::from_secs(120),
            run_time: None,
            talk: Talk {
                review_turns_max: 3,
                ..Talk::default()
            },
            pause: Pausing::default(),
        }
    }

    fn with(f: impl FnOnce(&mut RunState)) -> Action {
        let mut s = base();
        f(&mut s);
        next_action(&s)
    }

    #[test]
    fn row_a_turn_whose_work_cannot_be_forwarded_escalates() {
        let cases = [
            (PushProblem::Conflict, Escalation::PushConflict),
            (PushProblem::Refused, Escalation::PushRefused),
        ];
        for (problem, why) in cases {
            let s = RunState {
                agent: Agent::Exited(0),
                push_problem: Some(problem),
                ..base()
            };
            assert_eq!(next_action(&s), Action::Escalate(why), "{problem:?}");
            // the money limits still come first
            let over = RunState {
                spend_usd: Some(9.0),
                run_usd: 1.0,
                ..s.clone()
            };
            assert_eq!(next_action(&over), Action::Escalate(Escalation::OverBudget));
        }
    }

    #[test]
    fn row_stalled_escalates() {
        assert_eq!(
            with(|s| s.since_progress = s.stall_after),
            Action::Escalate(Escalation::Stalled)
        );
        // also while the agent runs (it is stopped by the caller)
        assert_eq!(
            with(|s| {
                s.agent = Agent::Running;
                s.since_progress = Duration::from_secs(99999)
            }),
            Action::Escalate(Escalation::Stalled)
        );
    }

    #[test]
    fn row_wait_while_agent_runs_or_checks_pending() {
        assert_eq!(
            with(|s| s.agent = Agent::Running),
            Action::Wait(Wait::Agent)
        );
        assert_eq!(with(|s| s.ci = Checks::Pending), Action::Wait(Wait::Ci));
        assert_eq!(with(|s| s.ci = Checks::None), Action::Wait(Wait::Ci));
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.deploy_configured = true;
                s.deploy = Checks::Pending
            }),
            Action::Wait(Wait::Deploy)
        );
    }

    #[test]
    fn row_agent_exited_without_pr() {
        let no_pr = |s: &mut RunState| {
            s.pr = Pr::None;
            s.head_sha = None;
            s.ci_sha = None;
        };
        assert_eq!(with(no_pr), Action::CorrectiveTurn(Correction::NoPr));
        assert_eq!(
            with(|s| {
                no_pr(s);
                s.turns = 1 + 2
            }),
            Action::Escalate(Escalation::NoPr)
        );
        // a vanished agent is an exited one
        assert_eq!(
            with(|s| {
                no_pr(s);
                s.agent = Agent::Vanished
            }),
            Action::CorrectiveTurn(Correction::NoPr)
        );
    }

    #[test]
    fn row_agent_failed_without_pr_escalates_instead_of_a_corrective_turn() {
        let failed = |code: i32, turns_used: u32, pr: Pr| {
            with(|s| {
                s.agent = Agent::Exited(code);
                s.turns = 1 + turns_used;
                s.pr = pr;
                s.ci = Checks::Failure;
            })
        };
        let cases = [
            (
                127,
                0,
                Pr::None,
                Action::Escalate(Escalation::AgentFailed),
                "not found",
            ),
            (
                3,
                0,
                Pr::None,
                Action::Escalate(Escalation::AgentFailed),
                "a crash with turns left",
            ),
            (
                1,
                2,
                Pr::None,
                Action::Escalate(Escalation::AgentFailed),
                "and with none left",
            ),
            (
                0,
                0,
                Pr::None,
                Action::CorrectiveTurn(Correction::NoPr),
                "a clean exit: the no-PR row",
            ),
            // work on a PR: the PR's rows decide, whatever the status
            (
                1,
                0,
                Pr::Open,
                Action::CorrectiveTurn(Correction::CiRed),
                "a PR to fix",
            ),
        ];
        for (code, used, pr, want, why) in cases {
            assert_eq!(failed(code, used, pr), want, "{why}");
        }
        // a person's `fix` is a turn they asked for
        assert_eq!(
            with(|s| {
                s.agent = Agent::Exited(1);
                s.pr = Pr::None;
                s.talk.asked = vec![TurnBudget::Review];
            }),
            Action::CorrectiveTurn(Correction::Asked(TurnBudget::Review))
        );
    }

    #[test]
    fn row_ci_red_with_budget_is_a_corrective_turn() {
        assert_eq!(
            with(|s| s.ci = Checks::Failure),
            Action::CorrectiveTurn(Correction::CiRed)
        );
        assert_eq!(
            with(|s| {
                s.ci = Checks::Failure;
                s.turns = 1 + 1
            }),
            Action::CorrectiveTurn(Correction::CiRed)
        );
    }

    #[test]
    fn row_ci_red_budget_spent_escalates() {
        assert_eq!(
            with(|s| {
                s.ci = Checks::Failure;
                s.turns = 1 + 2
            }),
            Action::Escalate(Escalation::CiRed)
        );
        assert_eq!(
            with(|s| {
                s.ci = Checks::Failure;
                s.fix_forward_max = 0
            }),
            Action::Escalate(Escalation::CiRed)
        );
    }

    #[test]
    fn row_ci_green_waits_for_a_human_merge() {
        assert_eq!(with(|s| s.ci = Checks::Success), Action::Wait(Wait::Merge));
    }

    #[test]
    fn row_merged_succeeds_without_deploy_context_or_on_deploy_success() {
        assert_eq!(with(|s| s.pr = Pr::Merged), Action::Succeed);
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.deploy_configured = true;
                s.deploy = Checks::Success
            }),
            Action::Succeed
        );
    }

    #[test]
    fn row_merged_deploy_failure_escalates() {
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.deploy_configured = true;
                s.deploy = Checks::Failure
            }),
            Action::Escalate(Escalation::DeployFailed)
        );
    }

    #[test]
    fn row_pr_closed_unmerged_escalates() {
        assert_eq!(
            with(|s| s.pr = Pr::Closed),
            Action::Escalate(Escalation::PrClosed)
        );
    }

    #[test]
    fn row_human_closed_issue_or_removed_label_abandons() {
        assert_eq!(with(|s| s.issue_open = false), Action::Abandon);
        assert_eq!(with(|s| s.in_progress_label = false), Action::Abandon);
        // even while the agent runs: it is stopped
        assert_eq!(
            with(|s| {
                s.issue_open = false;
                s.agent = Agent::Running
            }),
            Action::Abandon
        );
    }

    #[test]
    fn merged_pr_wins_over_issue_closed() {
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.issue_open = false;
                s.in_progress_label = false
            }),
            Action::Succeed
        );
        assert_eq!(
            with(|s| {
                s.pr = Pr::Merged;
                s.issue_open = false;
                s.deploy_configured = true;
                s.deploy = Checks::None
            }),
            Action::Wait(Wait::Deploy),
            "merge commit without a deploy status: wait"
        );
    }

    #[test]
    fn blocked_agent_escalates() {
        assert_eq!(
            with(|s| s.blocked = true),
            Action::Escalate(Escalation::Blocked)
        );
        assert_eq!(
            with(|s| {
                s.blocked = true;
                s.agent = Agent::Running
            }),
            Action::Escalate(Escalation::Blocked)
        );
    }

    #[test]
    fn row_an_agent_that_cannot_start_escalates_agent_failed() {
        let cannot = |s: &mut RunState| {
            s.agent = Agent::Running;
            s.cannot_start = Some("ImagePullBackOff: no such image".into());
        };
        type Row = (&'static str, fn(&mut RunState), Action);
        let table: [Row; 6] = [
            ("at once", |_| {}, Action::Escalate(Escalation::AgentFailed)),
            (
                "before the stall clock runs out",
                |s| s.since_progress = Duration::ZERO,
                Action::Escalate(Escalation::AgentFailed),
            ),
            (
                "over the stall clock too: the reason is the pod's",
                |s| s.since_progress = s.stall_after,
                Action::Escalate(Escalation::AgentFailed),
            ),
            (
                "whatever a progress line said",
                |s| s.blocked = true,
                Action::Escalate(Escalation::AgentFailed),
            ),
            (
                "a person's close still abandons",
                |s| s.issue_open = false,
                Action::Abandon,
            ),
            (
                "over budget stays over budget",
                |s| {
                    s.run_usd = 0.1;
                    s.spend_usd = Some(0.5)
                },
                Action::Escalate(Escalation::OverBudget),
            ),
        ];
        for (why, f, want) in table {
            assert_eq!(
                with(|s| {
                    cannot(s);
                    f(s)
                }),
                want,
                "{why}"
            );
        }
        let a = Action::Escalate(Escalation::AgentFailed);
        assert_eq!(a.reason().as_deref(), Some("agent-failed"));
        assert_eq!(
            decided_action(RunStatus::Escalating, Some("agent-failed")),
            Some(a),
            "a decided agent-failed is carried on as itself"
        );
    }

    #[test]
    fn agent_running_while_ci_red_waits() {
        assert_eq!(
            with(|s| {
                s.agent = Agent::Running;
                s.ci = Checks::Failure
            }),
            Action::Wait(Wait::Agent)
        );
    }

    #[test]
    fn only_the_current_head_counts() {
        // green on the old head, nothing yet on the new one
        assert_eq!(
            with(|s| {
                s.ci = Checks::Success;
                s.ci_sha = Some("h1".into());
                s.head_sha = Some("h2".into())
            }),
            Action::Wait(Wait::Ci)
        );
        // red on the old head while a corrective push is being checked
        assert_eq!(
            with(|s| {
                s.ci = Checks::Failure;
                s.ci_sha = Some("h1".into());
                s.turns = 1 + 1
            }),
            Action::Wait(Wait::Ci)
        );
    }

    #[test]
    fn a_new_push_while_a_corrective_turn_runs_waits() {
        assert_eq!(
            with(|s| {
                s.agent = Agent::Running;
                s.turns = 1 + 1;
                s.ci = Checks::Pending
            }),
            Action::Wait(Wait::Agent)
        );
    }

    #[test]
    fn at_most_one_plus_budget_starts() {
        for used in 0..5 {
            let a = with(|s| {
                s.ci = Checks::Failure;
                s.turns = 1 + used
            });
            if used < 2 {
                assert_eq!(a, Action::CorrectiveTurn(Correction::CiRed));
            } else {
                assert_eq!(a, Action::Escalate(Escalation::CiRed));
            }
        }
    }

    #[test]
    fn run_status_strings_round_trip_and_sets_are_derived_once() {
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s), "{s}");
        }
        assert_eq!(RunStatus::parse("bogus"), None);
        let names = |v: Vec<RunStatus>| v.iter().map(|s| s.as_str()).collect::<Vec<_>>();
        assert_eq!(
            names(RunStatus::in_flight_set()),
            [
                "dispatching",
                "started",
                "dispatched",
                "escalating",
                "succeeding",
                "abandoning"
            ]
        );
        assert_eq!(
            names(RunStatus::watched_set()),
            [
                "started",
                "dispatched",
                "escalating",
                "succeeding",
                "abandoning"
            ]
        );
    }

    #[test]
    fn a_decided_end_state_is_carried_on_whatever_is_observed() {
        let cases = [
            (
                RunStatus::Escalating,
                Some("ci-red"),
                Some(Action::Escalate(Escalation::CiRed)),
            ),
            (
                RunStatus::Escalating,
                Some("junk"),
                Some(Action::Escalate(Escalation::Blocked)),
            ),
            (RunStatus::Succeeding, None, Some(Action::Succeed)),
            (
                RunStatus::Abandoning,
                Some("abandoned"),
                Some(Action::Abandon),
            ),
            (RunStatus::Dispatched, None, None),
            (RunStatus::Started, None, None),
        ];
        for (status, reason, want) in cases {
            assert_eq!(decided_action(status, reason), want, "{status}");
            if let Some(a) = want {
                // the observation says "wait", the decision wins
                assert_eq!(
                    with(|s| {
                        s.decided = Some(a);
                        s.agent = Agent::Running
                    }),
                    a
                );
            }
        }
    }

    #[test]
    fn row_over_budget_or_over_time_escalates_and_stops_the_agent() {
        let over = |s: &mut RunState| {
            s.run_usd = 1.0;
            s.spend_usd = Some(1.25);
        };
        let late = |s: &mut RunState| {
            s.run_time = Some(Duration::from_secs(3600));
            s.age = Duration::from_secs(7200);
        };
        type Case = (&'static str, Box<dyn Fn(&mut RunState)>, Action);
        let cases: Vec<Case> = vec![
            (
                "over run_usd",
                Box::new(over),
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                "over run_usd while the agent runs",
                Box::new(move |s| {
                    over(s);
                    s.agent = Agent::Running
                }),
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                // the gateway stops at a limit, not over it: its stop is over
                "stopped by the gateway at run_usd",
                Box::new(|s| {
                    s.run_usd = 0.5;
                    s.spend_usd = Some(0.5);
                    s.budget_stop = Some(spend::BudgetStop::Gateway(
                        "budget.run_usd $0.50 reached".into(),
                    ))
                }),
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                "stopped by the gateway at the day's limit, the run under its own",
                Box::new(|s| {
                    s.run_usd = 5.0;
                    s.budget_stop = Some(spend::BudgetStop::Gateway(
                        "budget.day_usd $20.00 reached".into(),
                    ))
                }),
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                // Claude Code's --max-budget-usd: its own report, at what
                // was left of the limits, is over as the gateway's stop is
                "stopped by the agent at its own --max-budget-usd",
                Box::new(|s| {
                    s.run_usd = 0.5;
                    s.spend_usd = Some(0.49);
                    s.budget_stop = Some(spend::BudgetStop::Agent(
                        "Reached maximum budget ($0.49)".into(),
                    ))
                }),
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                "at run_usd is not over",
                Box::new(|s| {
                    s.run_usd = 0.5;
                    s.spend_usd = Some(0.5)
                }),
                Action::Wait(Wait::Ci),
            ),
            (
                "no limit",
                Box::new(|s| s.spend_usd = Some(1e9)),
                Action::Wait(Wait::Ci),
            ),
            (
                "nothing reported is not over",
                Box::new(|s| {
                    s.run_usd = 0.01;
                    s.spend_usd = None
                }),
                Action::Wait(Wait::Ci),
            ),
            (
                "over run_time",
                Box::new(late),
                Action::Escalate(Escalation::Timeout),
            ),
            (
                "over both: the money is named",
                Box::new(move |s| {
                    over(s);
                    late(s)
                }),
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                "before a stall and a block",
                Box::new(move |s| {
                    late(s);
                    s.blocked = true;
                    s.since_progress = s.stall_after
                }),
                Action::Escalate(Escalation::Timeout),
            ),
            (
                "a person's abandonment still wins",
                Box::new(move |s| {
                    over(s);
                    s.issue_open = false
                }),
                Action::Abandon,
            ),
            (
                "a merged PR is a success",
                Box::new(move |s| {
                    over(s);
                    late(s);
                    s.pr = Pr::Merged
                }),
                Action::Succeed,
            ),
            (
                "a green PR waiting for a person is not the agent's time",
                Box::new(move |s| {
                    late(s);
                    s.ci = Checks::Success
                }),
                Action::Wait(Wait::Merge),
            ),
            (
                "but money over run_usd is over",
                Box::new(move |s| {
                    over(s);
                    s.ci = Checks::Success
                }),
                Action::Escalate(Escalation::OverBudget),
            ),
        ];
        for (why, f, want) in cases {
            assert_eq!(with(|s| f(s)), want, "{why}");
        }
    }

    #[test]
    fn no_corrective_turn_starts_over_run_usd() {
        let over = |s: &mut RunState| {
            s.run_usd = 1.0;
            s.spend_usd = Some(2.0);
        };
        assert_eq!(
            with(|s| {
                over(s);
                s.ci = Checks::Failure
            }),
            Action::Escalate(Escalation::OverBudget)
        );
        assert_eq!(
            with(|s| {
                over(s);
                s.pr = Pr::None;
                s.head_sha = None;
                s.ci_sha = None
            }),
            Action::Escalate(Escalation::OverBudget)
        );
    }

    #[test]
    fn escalation_reasons_round_trip() {
        for e in Escalation::ALL {
            assert_eq!(Escalation::parse(&e.to_string()), Some(e));
        }
        assert_eq!(Escalation::OverBudget.to_string(), "over-budget");
        assert_eq!(Escalation::Timeout.to_string(), "timeout");
    }

    #[test]
    fn thread_status_maps_to_agent_state() {
        let cases = [
            ("running", Agent::Running),
            ("idle", Agent::Exited(0)),
            ("error", Agent::Exited(1)),
        ];
        for (s, want) in cases {
            assert_eq!(thread_agent(s), want, "{s}");
        }
    }

    #[test]
    fn a_green_pr_waiting_for_a_person_is_never_stalled() {
        let long = |s: &mut RunState| s.since_progress = s.stall_after * 10;
        assert_eq!(
            with(|s| {
                long(s);
                s.ci = Checks::Success;
            }),
            Action::Wait(Wait::Merge)
        );
        // green on an older head, or an agent still at work, is not waiting for a person
        assert_eq!(
            with(|s| {
                long(s);
                s.ci = Checks::Success;
                s.ci_sha = Some("h1".into());
            }),
            Action::Escalate(Escalation::Stalled)
        );
        assert_eq!(
            with(|s| {
                long(s);
                s.ci = Checks::Pending;
            }),
            Action::Escalate(Escalation::Stalled)
        );
    }

    #[test]
    fn row_the_conversation_stop_hold_and_asked_turns_sit_where_reviews_md_puts_them() {
        use Correction::Asked;
        let stop = |s: &mut RunState| s.talk.stop = true;
        let held = |s: &mut RunState| s.talk.held = true;
        let asked = |s: &mut RunState| s.talk.asked = vec![TurnBudget::Review];
        type Case = (&'static str, Vec<fn(&mut RunState)>, Action);
        let cases: Vec<Case> = vec![
            ("stop", vec![stop], Action::Escalate(Escalation::Stopped)),
            // stop wins over the agent running, a hold and a person's review
            (
                "stop over all",
                vec![stop, held, asked, |s| s.agent = Agent::Running],
                Action::Escalate(Escalation::Stopped),
            ),
            // but not over a merged PR
            (
                "stop merged",
                vec![stop, |s| s.pr = Pr::Merged],
                Action::Succeed,
            ),
            ("held", vec![held], Action::Wait(Wait::Held)),
            // a hold pauses the stall and run-time clocks and corrective turns
            (
                "held stall",
                vec![held, |s| s.since_progress = s.stall_after * 3],
                Action::Wait(Wait::Held),
            ),
            (
                "held time",
                vec![held, |s| {
                    s.run_time = Some(Duration::from_secs(60));
                    s.age = Duration::from_secs(600)
                }],
                Action::Wait(Wait::Held),
            ),
            (
                "held red",
                vec![held, |s| s.ci = Checks::Failure],
                Action::Wait(Wait::Held),
            ),
            ("held review", vec![held, asked], Action::Wait(Wait::Held)),
            // money limits still apply, and a person's close
            (
                "held money",
                vec![held, |s| {
                    s.run_usd = 1.0;
                    s.spend_usd = Some(2.0)
                }],
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                "held closed",
                vec![held, |s| s.issue_open = false],
                Action::Abandon,
            ),
            // a review turn, whatever CI says, apart from fix_forward_max
            (
                "review",
                vec![asked],
                Action::CorrectiveTurn(Asked(TurnBudget::Review)),
            ),
            (
                "review green",
                vec![asked, |s| s.ci = Checks::Success],
                Action::CorrectiveTurn(Asked(TurnBudget::Review)),
            ),
            (
                "review red",
                vec![asked, |s| s.ci = Checks::Failure],
                Action::CorrectiveTurn(Asked(TurnBudget::Review)),
            ),
            (
                "review ci spent",
                vec![asked, |s| s.turns = 1 + s.fix_forward_max],
                Action::CorrectiveTurn(Asked(TurnBudget::Review)),
            ),
            // `fix` before there is a PR
            (
                "fix no pr",
                vec![asked, |s| s.pr = Pr::None],
                Action::CorrectiveTurn(Asked(TurnBudget::Review)),
            ),
            (
                "review spent",
                vec![asked, |s| s.talk.review_turns_used = 3],
                Action::Escalate(Escalation::ReviewUnresolved),
            ),
            // the agent at work: wait for it
            (
                "review running",
                vec![asked, |s| s.agent = Agent::Running],
                Action::Wait(Wait::Agent),
            ),
            (
                "review closed pr",
                vec![asked, |s| s.pr = Pr::Closed],
                Action::Escalate(Escalation::PrClosed),
            ),
            // a turn asked for against fix_forward_max: taken while corrective
            // turns are left, else it waits and the run's own rows decide
            (
                "asked fix",
                vec![|s| s.talk.asked = vec![TurnBudget::Fix]],
                Action::CorrectiveTurn(Asked(TurnBudget::Fix)),
            ),
            (
                "asked fix review spent",
                vec![|s| {
                    s.talk.asked = vec![TurnBudget::Fix];
                    s.talk.review_turns_used = 3
                }],
                Action::CorrectiveTurn(Asked(TurnBudget::Fix)),
            ),
            (
                "asked fix spent red",
                vec![|s| {
                    s.talk.asked = vec![TurnBudget::Fix];
                    s.turns = 1 + s.fix_forward_max;
                    s.ci = Checks::Failure
                }],
                Action::Escalate(Escalation::CiRed),
            ),
            // a waiting ask never hides another budget's
            (
                "asked fix spent then review",
                vec![|s| {
                    s.talk.asked = vec![TurnBudget::Fix, TurnBudget::Review];
                    s.turns = 1 + s.fix_forward_max
                }],
                Action::CorrectiveTurn(Asked(TurnBudget::Review)),
            ),
            (
                "asked fix then review spent",
                vec![|s| {
                    s.talk.asked = vec![TurnBudget::Fix, TurnBudget::Review];
                    s.talk.review_turns_used = 3
                }],
                Action::Escalate(Escalation::ReviewUnresolved),
            ),
            (
                "asked fix spent pending",
                vec![|s| {
                    s.talk.asked = vec![TurnBudget::Fix];
                    s.turns = 1 + s.fix_forward_max
                }],
                Action::Wait(Wait::Ci),
            ),
        ];
        for (name, changes, want) in cases {
            let got = with(|s| changes.iter().for_each(|f| f(s)));
            assert_eq!(got, want, "{name}");
        }
        for e in Escalation::ALL {
            assert_eq!(Escalation::parse(&e.to_string()), Some(e));
        }
    }

    #[test]
    fn row_conflicts_and_retests_sit_after_reviews_and_before_ci() {
        use crate::conversation::ConflictStep;
        use crate::types::UpdateStyle;
        let merge = UpdateStyle::Merge;
        type Case = (
            &'static str,
            Option<ConflictStep>,
            bool,
            Checks,
            bool,
            Action,
        );
        let cases: Vec<Case> = vec![
            (
                "update",
                Some(ConflictStep::UpdateBranch(merge)),
                false,
                Checks::Failure,
                false,
                Action::UpdateBranch(merge),
            ),
            (
                "turn",
                Some(ConflictStep::Turn),
                false,
                Checks::Success,
                false,
                Action::CorrectiveTurn(Correction::Conflict),
            ),
            (
                "spent",
                Some(ConflictStep::Escalate),
                false,
                Checks::Pending,
                false,
                Action::Escalate(Escalation::Conflict),
            ),
            // null: the CI rows as before
            (
                "null",
                Some(ConflictStep::Wait),
                false,
                Checks::Success,
                false,
                Action::Wait(Wait::Merge),
            ),
            (
                "clean",
                Some(ConflictStep::Clean),
                false,
                Checks::Failure,
                false,
                Action::CorrectiveTurn(Correction::CiRed),
            ),
            // a person's review comes first
            (
                "review first",
                Some(ConflictStep::Turn),
                false,
                Checks::Success,
                true,
                Action::CorrectiveTurn(Correction::Asked(TurnBudget::Review)),
            ),
            // the first red on a head: the retest comment, before any turn
            ("retest", None, true, Checks::Failure, false, Action::Retest),
            (
                "retest green",
                None,
                true,
                Checks::Success,
                false,
                Action::Wait(Wait::Merge),
            ),
        ];
        for (name, conflict, retest_due, ci, asked, want) in cases {
            let got = with(|s| {
                s.talk.conflict = conflict;
                s.talk.retest_due = retest_due;
                s.talk.asked = if asked {
                    vec![TurnBudget::Review]
                } else {
                    vec![]
                };
                s.ci = ci;
            });
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn row_a_red_ci_waits_for_the_retests_result_then_turns() {
        let red = |waiting| {
            with(|s| {
                s.ci = Checks::Failure;
                s.talk.retest_waiting = waiting;
            })
        };
        assert_eq!(
            red(true),
            Action::Wait(Wait::Ci),
            "the old red, before the re-run reported"
        );
        assert_eq!(
            red(false),
            Action::CorrectiveTurn(Correction::CiRed),
            "the re-run is red too"
        );
    }
}

/// Budgets that pause: the limit a stopped turn pauses at (here), and the
/// rows of a run at its limit or paused (`pause_tests`), a test for each.
#[cfg(test)]
mod stop_source_tests {
    use super::*;

    /// Every stop source × every limit × each agent: the limit a pause is
    /// at. Claude Code stops itself at what it was handed or is stopped by
    /// the gateway; Codex (any model) only by the gateway; either is killed
    /// or times out (no stop: the run's time or its own limit decides).
    #[test]
    fn a_turn_stopped_at_a_days_cap_pauses_at_it_whoever_stopped_the_turn() {
        let limits = [Limit::RunUsd, Limit::DayUsd, Limit::RepoDayUsd];
        for agent in ["claude", "codex"] {
            for limit in limits {
                let mut sources = vec![
                    (StopSource::Gateway(limit), limit.is_day().then_some(limit)),
                    (StopSource::None, None),
                ];
                if agent == "claude" {
                    sources.push((
                        StopSource::Agent(Some(limit)),
                        limit.is_day().then_some(limit),
                    ));
                    // a run from before the turn's start was kept
                    sources.push((StopSource::Agent(None), None));
                }
                for (source, want) in sources {
                    assert_eq!(day_stop(source), want, "{agent} {limit:?} {source:?}");
                }
            }
        }
        // run_time is never a money stop's: a time limit has no day
        assert_eq!(day_stop(StopSource::Agent(Some(Limit::RunTime))), None);
    }
}

#[cfg(test)]
mod pause_tests {
    use super::*;
    use std::time::Duration;

    const DAY: Duration = Duration::from_secs(86400);
    const WEEK: Duration = Duration::from_secs(7 * 86400);

    /// A run at work with a $2.00 and a 4h limit, pausing for a week.
    fn base() -> RunState {
        RunState {
            decided: None,
            agent: Agent::Exited(0),
            blocked: false,
            cannot_start: None,
            push_problem: None,
            pr: Pr::Open,
            head_sha: Some("h2".into()),
            ci_sha: Some("h2".into()),
            ci: Checks::Pending,
            deploy_configured: false,
            deploy: Checks::None,
            turns: 1,
            fix_forward_max: 2,
            since_progress: Duration::from_secs(60),
            stall_after: Duration::from_secs(3600),
            issue_open: true,
            in_progress_label: true,
            spend_usd: Some(0.5),
            run_usd: 2.0,
            budget_stop: None,
            age: Duration::from_secs(120),
            run_time: Some(Duration::from_secs(4 * 3600)),
            talk: Talk {
                review_turns_max: 3,
                ..Talk::default()
            },
            pause: Pausing {
                pause_for: Some(WEEK),
                ..Pausing::default()
            },
        }
    }

    fn with(f: impl FnOnce(&mut RunState)) -> Action {
        let mut s = base();
        f(&mut s);
        next_action(&s)
    }

    fn gateway_stop() -> Option<spend::BudgetStop> {
        Some(spend::BudgetStop::Gateway(
            "run_usd $2.00 reached at $2.20".into(),
        ))
    }

    fn paused_at(limit: Limit, since: Duration) -> Option<Paused> {
        Some(Paused {
            limit,
            since,
            day_reopened: false,
        })
    }

    #[test]
    fn row_a_run_at_its_limit_pauses_with_pause_for_and_escalates_with_0s() {
        // (what reached the limit, pause_for, the action)
        type Case = (fn(&mut RunState), Option<Duration>, Action);
        let cases: [Case; 10] = [
            (
                |s| s.budget_stop = gateway_stop(),
                Some(WEEK),
                Action::Pause(Limit::RunUsd),
            ),
            (
                |s| s.spend_usd = Some(2.2),
                Some(WEEK),
                Action::Pause(Limit::RunUsd),
            ),
            (
                |s| s.age = Duration::from_secs(5 * 3600),
                Some(WEEK),
                Action::Pause(Limit::RunTime),
            ),
            // a held run pauses at money as it escalated before
            (
                |s| {
                    s.talk.held = true;
                    s.spend_usd = Some(2.2);
                },
                Some(WEEK),
                Action::Pause(Limit::RunUsd),
            ),
            // the agent still at work is stopped by the pause, as by the escalation
            (
                |s| {
                    s.agent = Agent::Running;
                    s.budget_stop = gateway_stop();
                },
                Some(WEEK),
                Action::Pause(Limit::RunUsd),
            ),
            // pause_for = "0s": the old rule, at once
            (
                |s| s.budget_stop = gateway_stop(),
                None,
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                |s| s.spend_usd = Some(2.2),
                None,
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                |s| s.age = Duration::from_secs(5 * 3600),
                None,
                Action::Escalate(Escalation::Timeout),
            ),
            // under both limits: nothing pauses
            (|_| {}, Some(WEEK), Action::Wait(Wait::Ci)),
            // a merged PR is a success whatever it cost
            (
                |s| {
                    s.pr = Pr::Merged;
                    s.budget_stop = gateway_stop();
                },
                Some(WEEK),
                Action::Succeed,
            ),
        ];
        for (i, (f, pause_for, want)) in cases.into_iter().enumerate() {
            let got = with(|s| {
                s.pause.pause_for = pause_for;
                f(s);
            });
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn row_a_paused_run_continued_with_room_gets_a_continuation_turn() {
        // the turn that paused it left its stop record; a raise to $7.00
        // gives room, and the continuation takes no corrective turn
        let cases = [
            (
                7.0,
                Some(2.2),
                ContinuedBy::Budget,
                Action::Continue(ContinuedBy::Budget),
            ),
            (
                7.0,
                Some(2.2),
                ContinuedBy::Resume,
                Action::Continue(ContinuedBy::Resume),
            ),
            // no room: the raise did not reach past the spend
            (
                2.2,
                Some(2.2),
                ContinuedBy::Budget,
                Action::Wait(Wait::Paused),
            ),
            (
                2.0,
                Some(2.2),
                ContinuedBy::Resume,
                Action::Wait(Wait::Paused),
            ),
        ];
        for (run_usd, spend, by, want) in cases {
            let got = with(|s| {
                s.run_usd = run_usd;
                s.spend_usd = spend;
                s.budget_stop = gateway_stop();
                s.turns = 3; // every corrective turn spent: not counted
                s.pause.paused = paused_at(Limit::RunUsd, DAY);
                s.pause.continued = Some(by);
            });
            assert_eq!(got, want, "run_usd {run_usd} spend {spend:?} {by:?}");
        }
        // time: room once the time limit is raised past the working time
        let time = |limit_h: u64| {
            with(|s| {
                s.age = Duration::from_secs(5 * 3600);
                s.run_time = Some(Duration::from_secs(limit_h * 3600));
                s.pause.paused = paused_at(Limit::RunTime, DAY);
                s.pause.continued = Some(ContinuedBy::Budget);
            })
        };
        assert_eq!(time(6), Action::Continue(ContinuedBy::Budget));
        assert_eq!(time(5), Action::Wait(Wait::Paused));
    }

    #[test]
    fn row_the_kill_switch_holds_a_continuation_the_run_waits_paused() {
        // (kill switch on, the action)
        for (braked, want) in [
            (false, Action::Continue(ContinuedBy::Resume)),
            (true, Action::Wait(Wait::KillSwitch)),
        ] {
            let got = with(|s| {
                s.run_usd = 7.0;
                s.spend_usd = Some(2.2);
                s.pause.paused = paused_at(Limit::RunUsd, DAY);
                s.pause.continued = Some(ContinuedBy::Resume);
                s.pause.braked = braked;
            });
            assert_eq!(got, want, "braked {braked}");
        }
    }

    #[test]
    fn row_a_paused_run_nobody_continued_within_pause_for_escalates_as_before() {
        let cases = [
            (
                Limit::RunUsd,
                WEEK,
                Action::Escalate(Escalation::OverBudget),
            ),
            (Limit::RunTime, WEEK, Action::Escalate(Escalation::Timeout)),
            (
                Limit::RunUsd,
                WEEK + DAY,
                Action::Escalate(Escalation::OverBudget),
            ),
            (
                Limit::RunUsd,
                WEEK - Duration::from_secs(1),
                Action::Wait(Wait::Paused),
            ),
            (Limit::RunTime, DAY, Action::Wait(Wait::Paused)),
        ];
        for (limit, since, want) in cases {
            let got = with(|s| {
                s.spend_usd = Some(2.2);
                s.budget_stop = gateway_stop();
                s.pause.paused = paused_at(limit, since);
            });
            assert_eq!(got, want, "{limit:?} paused {since:?}");
        }
        // pausing switched off meanwhile: the paused run ends at the next tick
        let off = with(|s| {
            s.pause.pause_for = None;
            s.pause.paused = paused_at(Limit::RunUsd, DAY);
        });
        assert_eq!(off, Action::Escalate(Escalation::OverBudget));
    }

    #[test]
    fn row_a_paused_run_escalates_exactly_once_the_decided_end_carried_on() {
        // the escalation decided at the deadline is stored (`escalating`);
        // later ticks carry that end on, whatever is observed, never a second
        let decided = decided_action(RunStatus::Escalating, Some("over-budget"));
        assert_eq!(decided, Some(Action::Escalate(Escalation::OverBudget)));
        let later = with(|s| {
            s.decided = decided;
            s.pause.paused = paused_at(Limit::RunUsd, WEEK + DAY);
            s.pause.continued = Some(ContinuedBy::Budget);
            s.run_usd = 20.0;
        });
        assert_eq!(later, Action::Escalate(Escalation::OverBudget));
    }

    #[test]
    fn row_a_paused_run_waits_and_nothing_else_applies_to_it() {
        // red CI with turns left, a stall, a review asked for, a conflict: wait
        type Case = fn(&mut RunState);
        let cases: [Case; 5] = [
            |s| s.ci = Checks::Failure,
            |s| s.since_progress = Duration::from_secs(99_999),
            |s| s.talk.asked = vec![TurnBudget::Review],
            |s| s.pr = Pr::None,
            |s| s.talk.conflict = Some(crate::conversation::ConflictStep::Turn),
        ];
        for (i, f) in cases.into_iter().enumerate() {
            let got = with(|s| {
                s.spend_usd = Some(2.2);
                s.pause.paused = paused_at(Limit::RunUsd, DAY);
                f(s);
            });
            assert_eq!(got, Action::Wait(Wait::Paused), "case {i}");
        }
    }

    #[test]
    fn row_stop_merge_and_abandon_win_over_a_pause() {
        let when_paused = |f: fn(&mut RunState)| {
            with(|s| {
                s.pause.paused = paused_at(Limit::RunUsd, DAY);
                s.pause.continued = Some(ContinuedBy::Budget);
                s.run_usd = 7.0;
                f(s);
            })
        };
        assert_eq!(
            when_paused(|s| s.talk.stop = true),
            Action::Escalate(Escalation::Stopped)
        );
        assert_eq!(when_paused(|s| s.pr = Pr::Merged), Action::Succeed);
        assert_eq!(when_paused(|s| s.issue_open = false), Action::Abandon);
        assert_eq!(
            when_paused(|s| s.in_progress_label = false),
            Action::Abandon
        );
        // a hold standing: the continuation waits for its `resume`
        assert_eq!(
            when_paused(|s| s.talk.held = true),
            Action::Wait(Wait::Paused)
        );
    }

    #[test]
    fn row_a_turn_stopped_at_a_days_cap_pauses_until_midnight_and_continues_by_itself() {
        let day_stop = |limit: Limit| {
            move |s: &mut RunState| {
                s.budget_stop = Some(spend::BudgetStop::Gateway(
                    "budget.day_usd $20.00 reached".into(),
                ));
                s.pause.day_stop = Some(limit);
            }
        };
        // the gateway's stop at a day's cap pauses at that cap
        assert_eq!(with(day_stop(Limit::DayUsd)), Action::Pause(Limit::DayUsd));
        assert_eq!(
            with(day_stop(Limit::RepoDayUsd)),
            Action::Pause(Limit::RepoDayUsd)
        );
        // the run's own limit first: a run over its run_usd pauses there
        assert_eq!(
            with(|s| {
                day_stop(Limit::DayUsd)(&mut *s);
                s.spend_usd = Some(2.5);
            }),
            Action::Pause(Limit::RunUsd)
        );
        // pause_for = "0s": escalated over-budget, as before
        assert_eq!(
            with(|s| {
                day_stop(Limit::DayUsd)(&mut *s);
                s.pause.pause_for = None;
            }),
            Action::Escalate(Escalation::OverBudget)
        );
        // (limit, since the pause, a midnight came, continued by a person, the action)
        type Case = (Limit, Duration, bool, Option<ContinuedBy>, Action);
        let table: [Case; 7] = [
            // the same day: waits, whatever pause_for says
            (
                Limit::DayUsd,
                DAY / 2,
                false,
                None,
                Action::Wait(Wait::Paused),
            ),
            (
                Limit::DayUsd,
                2 * WEEK,
                false,
                None,
                Action::Wait(Wait::Paused),
            ),
            // the first tick after 00:00 UTC: continued by itself
            (
                Limit::DayUsd,
                DAY / 2,
                true,
                None,
                Action::Continue(ContinuedBy::Day),
            ),
            (
                Limit::RepoDayUsd,
                DAY / 2,
                true,
                None,
                Action::Continue(ContinuedBy::Day),
            ),
            // the operator raised day_usd and said resume before midnight
            (
                Limit::DayUsd,
                DAY / 2,
                false,
                Some(ContinuedBy::Resume),
                Action::Continue(ContinuedBy::Resume),
            ),
            // a midnight means nothing to a pause at the run's own limit
            (Limit::RunUsd, DAY, true, None, Action::Wait(Wait::Paused)),
            (
                Limit::RunUsd,
                WEEK,
                true,
                None,
                Action::Escalate(Escalation::OverBudget),
            ),
        ];
        for (limit, since, reopened, continued, want) in table {
            let got = with(|s| {
                s.budget_stop = gateway_stop();
                s.pause.paused = Some(Paused {
                    limit,
                    since,
                    day_reopened: reopened,
                });
                s.pause.continued = continued;
            });
            assert_eq!(got, want, "{limit:?} {since:?} {reopened} {continued:?}");
        }
        // the kill switch holds the day's continuation too; a hold waits for resume
        let reopened = |s: &mut RunState| {
            s.pause.paused = Some(Paused {
                limit: Limit::DayUsd,
                since: DAY / 2,
                day_reopened: true,
            });
        };
        assert_eq!(
            with(|s| {
                reopened(&mut *s);
                s.pause.braked = true;
            }),
            Action::Wait(Wait::KillSwitch)
        );
        assert_eq!(
            with(|s| {
                reopened(&mut *s);
                s.talk.held = true;
            }),
            Action::Wait(Wait::Paused)
        );
    }

    /// A day's cap ends: a run that has continued by itself as often as
    /// `budget.day_continuations` allows waits at its next day's-cap pause
    /// for a person, and escalates after `pause_for` like a `run_usd` pause;
    /// a person's continuation still goes on.
    #[test]
    fn a_days_cap_continues_by_itself_only_while_its_continuations_last() {
        // (continuations spent, time paused, midnight came, who continued, want)
        let table = [
            (
                false,
                DAY / 2,
                true,
                None,
                Action::Continue(ContinuedBy::Day),
            ),
            (true, DAY / 2, true, None, Action::Wait(Wait::Paused)),
            (true, DAY * 2, true, None, Action::Wait(Wait::Paused)),
            (
                true,
                WEEK + DAY,
                true,
                None,
                Action::Escalate(Escalation::OverBudget),
            ),
            (false, WEEK + DAY, false, None, Action::Wait(Wait::Paused)),
            (
                true,
                DAY / 2,
                true,
                Some(ContinuedBy::Resume),
                Action::Continue(ContinuedBy::Resume),
            ),
        ];
        for (spent, since, reopened, continued, want) in table {
            let got = with(|s| {
                s.budget_stop = gateway_stop();
                s.pause.day_spent = spent;
                s.pause.paused = Some(Paused {
                    limit: Limit::DayUsd,
                    since,
                    day_reopened: reopened,
                });
                s.pause.continued = continued;
            });
            assert_eq!(got, want, "{spent} {since:?} {reopened} {continued:?}");
        }
    }

    #[test]
    fn a_pause_and_a_continuation_say_their_limit_and_who() {
        let table = [
            (Action::Pause(Limit::RunUsd), "pause run_usd"),
            (Action::Pause(Limit::RunTime), "pause run_time"),
            (Action::Pause(Limit::DayUsd), "pause day_usd"),
            (Action::Pause(Limit::RepoDayUsd), "pause repo_day_usd"),
            (Action::Continue(ContinuedBy::Day), "continue day"),
            (Action::Wait(Wait::Paused), "wait paused"),
            (Action::Continue(ContinuedBy::Budget), "continue budget"),
            (Action::Continue(ContinuedBy::Resume), "continue resume"),
        ];
        for (a, want) in table {
            assert_eq!(a.said(), want, "{a:?}");
        }
    }
}
