//! Poll's per-repo examination and its claim → start → label steps, against
//! an in-memory forge (the HTTP path has its sandbox tests in tests/it/poll.rs).

use super::claims::{dispatch_one, reconcile_labels, resolve_templates};
use super::examine::{Escalated, Handled, Known, RepoOutcome, examine_repo};
use crate::core::dispatch::Reason;
use crate::core::run_state::RunStatus;
use crate::forge::{Failure, ForgeReads};
use crate::testing::{FakeRunner, Scratch};
use crate::types::IssueNumber;
use crate::types::RepoName;
use afk_forge_memory::MemoryForge;

const R: &str = "acme/api";
/// `R` as the forge's methods take it.
static API: std::sync::LazyLock<RepoName> =
    std::sync::LazyLock::new(|| RepoName::parse(R).unwrap());
const READY: &str = "ready-for-agent";
const BUSY: &str = "agent-in-progress";
const HUMAN: &str = "ready-for-human";

fn scratch() -> Scratch {
    Scratch::new("[runner]\nworkspace = \"agent\"\n[poll]\nallowlist = [\"acme/api\"]\n")
}

/// acme/api with afk's labels and issue #7, armed by `armer` (a writer: alice).
fn forge(armer: &str) -> MemoryForge {
    MemoryForge::new("afk-bot")
        .repo(R)
        .labels(R, &[READY, BUSY, HUMAN])
        .permission(R, "alice", "write")
        .permission(R, "mallory", "read")
        .issue(R, 7, "fix the login")
        .labelled(R, 7, READY, armer)
}

const IDLE: Known = Known {
    frozen: false,
    busy: false,
    over_budget: false,
};

fn examine(s: &Scratch, f: &MemoryForge) -> RepoOutcome {
    let t = s.tick(f, &FakeRunner::default());
    examine_repo(&t, &Handled::new(), &Escalated::new(), &API, IDLE)
}

fn winner(out: &RepoOutcome) -> Option<u64> {
    out.winner.as_ref().map(|(w, _)| w.issue.number.0)
}

fn skips(out: &RepoOutcome) -> Vec<(u64, Reason)> {
    out.skipped.iter().map(|s| (s.issue.0, s.reason)).collect()
}

#[test]
fn an_issue_armed_by_a_writer_wins_with_its_arming_event() {
    let (s, f) = (scratch(), forge("alice"));
    let out = examine(&s, &f);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(winner(&out), Some(7));
    let armed = f.timeline(&API, IssueNumber(7)).unwrap()[0].id;
    assert_eq!(out.winner.unwrap().0.ready_event_id, armed);
    assert!(f.writes().is_empty(), "examining writes nothing");
}

#[test]
fn an_issue_armed_by_a_reader_is_skipped_as_untrusted() {
    let (s, f) = (scratch(), forge("mallory"));
    let out = examine(&s, &f);
    assert_eq!(winner(&out), None);
    assert_eq!(skips(&out), [(7, Reason::Untrusted)]);
    assert!(
        out.skipped[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("mallory")
    );
}

#[test]
fn a_refused_permission_lookup_is_an_error_and_never_a_winner() {
    let s = scratch();
    let f = forge("alice").failing("permission", Failure::Forbidden);
    let out = examine(&s, &f);
    assert_eq!(winner(&out), None);
    assert_eq!(out.errors.len(), 1);
    assert!(
        out.errors[0].message.contains("must be an admin"),
        "{}",
        out.errors[0].message
    );
}

#[test]
fn a_missing_in_progress_label_stops_dispatch_unless_the_forge_creates_it() {
    let s = scratch();
    let bare = || {
        MemoryForge::new("afk-bot")
            .repo(R)
            .labels(R, &[READY])
            .permission(R, "alice", "write")
            .issue(R, 7, "fix")
            .labelled(R, 7, READY, "alice")
    };
    let gitea = bare();
    let out = examine(&s, &gitea);
    assert_eq!(winner(&out), None);
    assert!(out.errors[0].message.contains(BUSY), "{:?}", out.errors);
    // what to do about it is a hint, apart from the message
    assert!(
        !out.errors[0].message.contains("create-labels"),
        "{:?}",
        out.errors
    );
    assert_eq!(out.errors[0].hints, ["create it: afk init --create-labels"]);
    assert_eq!(gitea.calls("timeline"), 0, "no issue examined");
    let github = bare().creating_labels();
    assert_eq!(winner(&examine(&s, &github)), Some(7));
}

#[test]
fn a_repo_with_an_issue_in_progress_takes_no_run() {
    let s = scratch();
    let f = forge("alice")
        .issue(R, 3, "in flight")
        .labelled(R, 3, BUSY, "afk-bot");
    let out = examine(&s, &f);
    assert_eq!(winner(&out), None);
    assert_eq!(skips(&out), [(7, Reason::RepoLocked)]);
    assert_eq!(f.calls("timeline"), 0);
}

#[test]
fn a_blocker_that_no_longer_exists_does_not_block() {
    let s = scratch();
    let f = forge("alice").with_issue(R, 7, |i| i.body = Some("Blocked by #99".into()));
    let out = examine(&s, &f);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(winner(&out), Some(7));
    assert_eq!(f.calls("issue"), 1, "the blocker was looked up");
}

#[test]
fn a_blocker_outside_the_allowlist_blocks_without_being_asked_about() {
    let s = scratch();
    let body = "Blocked by other/repo#3";
    let f = forge("alice").with_issue(R, 7, |i| i.body = Some(body.into()));
    let out = examine(&s, &f);
    assert_eq!(skips(&out), [(7, Reason::Blocked)]);
    assert_eq!(f.calls("issue"), 0);
}

/// Dispatch the winner of `f` through the claim → start → label sequence.
fn dispatch(s: &Scratch, f: &MemoryForge, runner: &FakeRunner) -> Option<String> {
    let (w, _) = examine(s, f).winner.expect("a winner");
    let t = s.tick(f, runner);
    let templates = resolve_templates(&t).unwrap();
    let (_, err) = dispatch_one(&t, &Default::default(), &templates.current, &w);
    err.map(|e| e.message)
}

#[test]
fn the_label_is_added_only_after_the_agent_started() {
    let (s, f) = (scratch(), forge("alice"));
    let broken = FakeRunner {
        fail_start: true,
        ..Default::default()
    };
    let err = dispatch(&s, &f, &broken).expect("the start failed");
    assert!(err.contains("agent start failed"), "{err}");
    assert!(f.writes().is_empty(), "no label without an agent");
    assert_eq!(s.store().runs_in(&[RunStatus::Failed]).unwrap().len(), 1);

    let (s, f) = (scratch(), forge("alice"));
    assert_eq!(dispatch(&s, &f, &FakeRunner::default()), None);
    assert_eq!(f.writes(), [format!("add_label {R}#7 {BUSY}")]);
    assert_eq!(
        s.store().runs_in(&[RunStatus::Dispatched]).unwrap().len(),
        1
    );
}

#[test]
fn a_rearmed_issue_loses_the_human_label_after_gaining_the_in_progress_one() {
    let s = scratch();
    let f = forge("alice").labelled(R, 7, HUMAN, "afk-bot");
    assert_eq!(dispatch(&s, &f, &FakeRunner::default()), None);
    assert_eq!(
        f.writes(),
        [
            format!("add_label {R}#7 {BUSY}"),
            format!("remove_label {R}#7 {HUMAN}")
        ]
    );
}

#[test]
fn a_failed_label_leaves_the_run_started_for_the_next_tick() {
    let s = scratch();
    let f = forge("alice").failing("add_label", Failure::Other(500));
    let err = dispatch(&s, &f, &FakeRunner::default()).expect("labelling failed");
    assert!(err.contains("the next tick adds the label"), "{err}");
    assert_eq!(s.store().runs_in(&[RunStatus::Started]).unwrap().len(), 1);
}

/// A run recorded as started whose in-progress label never landed.
fn started_run(s: &Scratch) {
    crate::testing::started_run(&s.store(), R, 7);
}

#[test]
fn a_started_run_whose_label_never_landed_is_labelled_once() {
    let (s, f) = (scratch(), forge("alice"));
    started_run(&s);
    let store = s.store();
    let t = s.tick(&f, &FakeRunner::default());
    let (done, errors) = reconcile_labels(&t).unwrap();
    assert!(errors.is_empty());
    assert_eq!(done.len(), 1);
    assert_eq!(f.writes(), [format!("add_label {R}#7 {BUSY}")]);
    assert_eq!(store.runs_in(&[RunStatus::Dispatched]).unwrap().len(), 1);
    let (again, _) = reconcile_labels(&t).unwrap();
    assert!(again.is_empty());
    assert_eq!(f.writes().len(), 1);
}
