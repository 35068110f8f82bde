//! Watch's writes for one run (`act.rs`), against an in-memory forge: which
//! comments are afk's, what is posted once, the order of an end's writes
//! (the HTTP path has its sandbox tests in tests/it/watch.rs).

use super::act::act;
use super::lists::Watch;
use super::observe::Seen;
use crate::core::checklist::MARKER;
use crate::core::ci::Verdict;
use crate::core::escalation;
use crate::core::run_state::{Action, Agent, Checks, Escalation, RunStatus, Wait};
use crate::forge::{Failure, ForgeReads, LastTry};
use crate::store::Store;
use crate::store::runs::Run;
use crate::testing::{FakeRunner, Scratch};
use crate::types::RunId;
use afk_forge_memory::MemoryForge;

const R: &str = "acme/api";

fn scratch() -> Scratch {
    Scratch::new("[runner]\nworkspace = \"agent\"\n[poll]\nallowlist = [\"acme/api\"]\n")
}

/// Issue #7, armed and in progress.
fn forge() -> MemoryForge {
    MemoryForge::new("afk-bot")
        .repo(R)
        .labels(
            R,
            &["ready-for-agent", "agent-in-progress", "ready-for-human"],
        )
        .issue(R, 7, "fix the login")
        .labelled(R, 7, "ready-for-agent", "alice")
        .labelled(R, 7, "agent-in-progress", "afk-bot")
}

fn watch<'a>(s: &'a Scratch, forge: &MemoryForge, runner: &FakeRunner) -> Watch<'a> {
    // a test's tick lives as long as the test
    let t: &'a crate::tick::Tick<'a> = Box::leak(s.tick(forge, runner));
    Watch::new(t)
}

/// A dispatched run on #7.
fn dispatched(store: &Store) -> RunId {
    let id = crate::testing::started_run(store, R, 7);
    store
        .transition(id, RunStatus::Started, RunStatus::Dispatched)
        .unwrap();
    id
}

fn run(store: &Store, id: RunId) -> Run {
    store.run(id).unwrap().unwrap()
}

/// An agent still at work, no PR yet (on a run of its own: `step` sets
/// the run it acts on).
fn seen() -> Seen {
    let s = scratch();
    let store = s.store();
    Seen {
        run: run(&store, dispatched(&store)),
        issue_open: true,
        in_progress_label: true,
        issue_closed_as: None,
        pr: None,
        afk_branch: false,
        ci: Verdict::none(),
        ci_sha: None,
        ci_newest_at: None,
        deploy: Checks::None,
        agent: Agent::Running,
        blocked: None,
        cannot_start: None,
        forwarded: Default::default(),
        log_end: None,
        since_progress: std::time::Duration::ZERO,
        spend_usd: None,
        gateway_stop: None,
        agent_budget_stop: None,
        agent_stop_limit: None,
        phase: None,
        heard: Default::default(),
        record: Default::default(),
        blind: false,
        run_dir: Default::default(),
        age: std::time::Duration::ZERO,
    }
}

const WAIT: Action = Action::Wait(Wait::Agent);

/// One watch step of run `id`: act on what `seen` says with `action`.
fn step(
    s: &Scratch,
    f: &MemoryForge,
    runner: &FakeRunner,
    store: &Store,
    id: RunId,
    seen: &Seen,
    action: Action,
) -> anyhow::Result<()> {
    let run = run(store, id);
    let w = watch(s, f, runner);
    // the run's folder as observe finds it
    let seen = Seen {
        run_dir: w.t.run_dir(&run),
        run,
        ..seen.clone()
    };
    act(&w, store, &seen, Some(action), &mut vec![])
}

#[test]
fn only_afks_own_comment_is_edited() {
    let (s, runner) = (scratch(), FakeRunner::default());
    let f = forge().comment(R, 7, "bob", &format!("{MARKER}\nlooks like afk's"));
    let store = s.store();
    let id = dispatched(&store);
    step(&s, &f, &runner, &store, id, &seen(), WAIT).unwrap();
    let comments = f.comments_now(R, 7);
    assert_eq!(comments[0].body, format!("{MARKER}\nlooks like afk's"));
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[1].author(), "afk-bot");
    assert_eq!(
        f.writes(),
        [format!("create_comment {R}#7 {}", comments[1].id)]
    );
    assert_eq!(run(&store, id).checklist_comment_id, Some(comments[1].id));
}

#[test]
fn afks_checklist_found_again_is_edited_not_posted_twice() {
    let (s, runner) = (scratch(), FakeRunner::default());
    // a tick that died after posting, before recording the comment's id
    let f = forge().comment(R, 7, "afk-bot", &format!("{MARKER}\nold text"));
    let store = s.store();
    let id = dispatched(&store);
    step(&s, &f, &runner, &store, id, &seen(), WAIT).unwrap();
    let c = &f.comments_now(R, 7)[0];
    assert_eq!(f.writes(), [format!("edit_comment {R}#7 {}", c.id)]);
    assert_ne!(c.body, format!("{MARKER}\nold text"));
}

#[test]
fn an_unchanged_checklist_is_not_written_again() {
    let (s, f, runner) = (scratch(), forge(), FakeRunner::default());
    let store = s.store();
    let id = dispatched(&store);
    step(&s, &f, &runner, &store, id, &seen(), WAIT).unwrap();
    let requests = f.requests();
    step(&s, &f, &runner, &store, id, &seen(), WAIT).unwrap();
    assert_eq!(f.writes().len(), 1);
    assert_eq!(f.requests(), requests, "not even read");
}

#[test]
fn a_checklist_a_person_deleted_is_posted_again() {
    let (s, f, runner) = (scratch(), forge(), FakeRunner::default());
    let store = s.store();
    let id = dispatched(&store);
    store.set_checklist(id, 999, "gone").unwrap();
    step(&s, &f, &runner, &store, id, &seen(), WAIT).unwrap();
    let posted = f.comments_now(R, 7)[0].id;
    assert_eq!(f.writes(), [format!("create_comment {R}#7 {posted}")]);
    assert_eq!(run(&store, id).checklist_comment_id, Some(posted));
}

#[test]
fn a_comment_post_without_answer_is_not_repeated_until_the_forge_shows_it() {
    let (s, runner) = (scratch(), FakeRunner::default());
    let f = forge().failing("create_comment", Failure::NoAnswer);
    let store = s.store();
    let id = dispatched(&store);
    assert!(step(&s, &f, &runner, &store, id, &seen(), WAIT).is_err());
    let e = step(&s, &f, &runner, &store, id, &seen(), WAIT).unwrap_err();
    assert!(e.to_string().contains("waiting to see"), "{e}");
    assert_eq!(f.calls("create_comment"), 1);
}

#[test]
fn a_comment_post_that_used_up_its_retries_is_repeated_only_after_an_answer() {
    use Failure::*;
    // what the failed POST met → whether the next tick may post again at
    // once (the forge said "no": nothing landed) or waits to see it land
    let cases = [
        (Exhausted(LastTry::Answered(502)), true),
        (Exhausted(LastTry::Answered(429)), true),
        (Other(500), true),
        (Exhausted(LastTry::NoAnswer), false),
        (Exhausted(LastTry::RateLimited), false),
        (NoAnswer, false),
        (RateLimited, false),
    ];
    for (kind, again) in cases {
        let (s, runner) = (scratch(), FakeRunner::default());
        let f = forge().failing("create_comment", kind);
        let store = s.store();
        let id = dispatched(&store);
        assert!(step(&s, &f, &runner, &store, id, &seen(), WAIT).is_err());
        let e = step(&s, &f, &runner, &store, id, &seen(), WAIT).unwrap_err();
        let waits = e.to_string().contains("waiting to see");
        assert_eq!(waits, !again, "{kind:?}: {e}");
        assert_eq!(
            f.calls("create_comment"),
            1 + usize::from(again),
            "{kind:?}"
        );
    }
}

#[test]
fn an_escalation_relabels_then_comments_and_ends_escalated() {
    let (s, f, runner) = (scratch(), forge(), FakeRunner::default());
    let store = s.store();
    let id = dispatched(&store);
    let mut exited = seen();
    exited.agent = Agent::Exited(1);
    let esc = Action::Escalate(Escalation::Stalled);
    step(&s, &f, &runner, &store, id, &exited, esc).unwrap();
    let ids: Vec<i64> = f.comments_now(R, 7).iter().map(|c| c.id).collect();
    assert_eq!(
        f.writes(),
        [
            format!("remove_label {R}#7 agent-in-progress"),
            format!("remove_label {R}#7 ready-for-agent"),
            format!("add_label {R}#7 ready-for-human"),
            format!("create_comment {R}#7 {}", ids[0]),
            format!("create_comment {R}#7 {}", ids[1]),
        ]
    );
    assert!(
        f.comments_now(R, 7)[0]
            .body
            .contains(&escalation::marker(id))
    );
    let after = run(&store, id);
    assert_eq!(after.state, RunStatus::Escalated);
    assert_eq!(after.escalation_comment_id, Some(ids[0]));
}

#[test]
fn an_escalation_comment_a_dead_tick_posted_is_not_posted_again() {
    let (s, runner) = (scratch(), FakeRunner::default());
    let store = s.store();
    let id = dispatched(&store);
    let body = format!("{}\nstalled", escalation::marker(id));
    let f = forge().comment(R, 7, "afk-bot", &body);
    let posted = f.comments_now(R, 7)[0].id;
    let mut exited = seen();
    exited.agent = Agent::Exited(1);
    let esc = Action::Escalate(Escalation::Stalled);
    step(&s, &f, &runner, &store, id, &exited, esc).unwrap();
    let comments = f.comments_now(R, 7);
    assert_eq!(comments.len(), 2, "the old escalation and the checklist");
    assert!(comments[1].body.starts_with(MARKER));
    assert_eq!(run(&store, id).escalation_comment_id, Some(posted));
}

#[test]
fn a_comment_the_forge_refuses_is_shortened_once_then_given_up_and_the_run_ends() {
    let (s, runner) = (scratch(), FakeRunner::default());
    let f = forge().failing("create_comment", Failure::Unprocessable);
    let store = s.store();
    let id = dispatched(&store);
    let mut blocked = seen();
    blocked.agent = Agent::Exited(0);
    blocked.blocked = Some(crate::core::progress::Blocked {
        reason: "why ".repeat(10_000),
        questions: (0..500)
            .map(|i| format!("question {i}: {}?", "x".repeat(300)))
            .collect(),
    });
    let esc = Action::Escalate(Escalation::Blocked);
    step(&s, &f, &runner, &store, id, &blocked, esc).unwrap();
    // the escalation whole and shortened, the (short) checklist once
    assert_eq!(f.calls("create_comment"), 3);
    let after = run(&store, id);
    assert_eq!(after.state, RunStatus::Escalated);
    assert_eq!(after.escalation_comment_id, Some(0), "none, and none again");
    assert_eq!(after.checklist_comment_id, Some(0));
}

#[test]
fn an_escalation_counts_corrective_turns_apart_from_review_turns() {
    let (s, f, runner) = (scratch(), forge(), FakeRunner::default());
    let store = s.store();
    let id = dispatched(&store);
    // the first turn, a review turn, then one corrective turn on red CI
    store.begin_turn(id, "review", "a review").unwrap();
    store.begin_turn(id, "ci-red", "red CI").unwrap();
    let mut red = seen();
    red.agent = Agent::Exited(0);
    red.heard.talk.review_turns = 1;
    let esc = Action::Escalate(Escalation::CiRed);
    step(&s, &f, &runner, &store, id, &red, esc).unwrap();
    let body = &f.comments_now(R, 7)[0].body;
    assert!(body.contains("after 1 corrective turns"), "{body}");
}

#[test]
fn a_turn_asked_against_fix_forward_max_takes_only_its_own_asks_as_corrective_turns() {
    use super::talk::Ask;
    use crate::core::run_state::Correction;
    use crate::types::{Handled, TalkKind, TalkSaid, TurnBudget};
    let (s, f, runner) = (scratch(), forge(), FakeRunner::default());
    let store = s.store();
    let id = dispatched(&store);
    let ask = |n: i64, who: &str, budget| Ask {
        key: (TalkKind::Comment, n),
        author: who.into(),
        said: TalkSaid::Fix(format!("ask {n}")),
        budget,
        body: format!("ask {n}"),
        comments: vec![],
        cut: false,
        lines_read: None,
    };
    for a in [
        ask(41, "carol", TurnBudget::Fix),
        ask(42, "dave", TurnBudget::Review),
    ] {
        store
            .note_talk_item(id, a.key, &a.author, &a.said, &Handled::Queued)
            .unwrap();
    }
    let mut asked = seen();
    asked.agent = Agent::Exited(0);
    asked.heard.asked = vec![
        ask(41, "carol", TurnBudget::Fix),
        ask(42, "dave", TurnBudget::Review),
    ];
    let turn = Action::CorrectiveTurn(Correction::Asked(TurnBudget::Fix));
    step(&s, &f, &runner, &store, id, &asked, turn).unwrap();
    let items = store.talk_items(id).unwrap();
    let outcome = |n: i64| items.iter().find(|i| i.item == n).unwrap().outcome.clone();
    let max = s.tick(&f, &runner).config().watch.fix_forward_max;
    assert_eq!(
        outcome(41),
        Handled::Taken {
            turn: 1,
            max,
            budget: TurnBudget::Fix
        }
    );
    // the review-budget ask waits for a turn of its own
    assert_eq!(outcome(42), Handled::Queued);
    assert_eq!(store.talk(id).unwrap().review_turns, 0);
    let why = store.turns(id).unwrap().last().unwrap().why.clone();
    assert_eq!(why, "`fix` asked by carol");
    let prompt = runner.started.lock().unwrap().last().cloned().unwrap();
    assert!(prompt.contains("carol said `fix` in a comment"), "{prompt}");
    assert!(!prompt.contains("ask 42"), "{prompt}");
}

#[test]
fn a_turn_asked_against_fix_forward_max_while_ci_is_red_names_the_failing_checks() {
    use super::talk::Ask;
    use crate::core::run_state::Correction;
    use crate::types::{Handled, TalkKind, TalkSaid, TurnBudget};
    let (s, f, runner) = (scratch(), forge(), FakeRunner::default());
    let store = s.store();
    let id = dispatched(&store);
    let ask = Ask {
        key: (TalkKind::Comment, 41),
        author: "carol".into(),
        said: TalkSaid::Fix("try again".into()),
        budget: TurnBudget::Fix,
        body: "try again".into(),
        comments: vec![],
        cut: false,
        lines_read: None,
    };
    store
        .note_talk_item(id, ask.key, &ask.author, &ask.said, &Handled::Queued)
        .unwrap();
    let mut red = seen();
    red.agent = Agent::Exited(0);
    red.ci.checks = Checks::Failure;
    red.ci.failing = vec![("ci/test".into(), None)];
    red.ci.said = vec![("ci/test".into(), "3 tests failed".into())];
    red.heard.asked = vec![ask];
    let turn = Action::CorrectiveTurn(Correction::Asked(TurnBudget::Fix));
    step(&s, &f, &runner, &store, id, &red, turn).unwrap();
    let prompt = runner.started.lock().unwrap().last().cloned().unwrap();
    assert!(prompt.contains("carol said `fix` in a comment"), "{prompt}");
    assert!(prompt.contains("CI is red on the head"), "{prompt}");
    assert!(prompt.contains("- ci/test — 3 tests failed"), "{prompt}");
}
