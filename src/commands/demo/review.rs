//! The demo's review act (docs/reviews.md), on acme/api#2 once its CI is green:
//! a trusted reviewer leaves a comment review (a body and one line comment,
//! through the sandbox's admin API; on GitLab a thread on the line), watch
//! starts one `review` turn whose prompt
//! quotes them fenced as data, the agent pushes, `/afk hold` holds the run
//! (one `eyes` reaction), the reviewer approves and says `/afk resume`, a
//! person merges, the run succeeds.

use super::show::Show;
use super::world::{admin, azure, seen, wait_for};
use crate::sandbox;
use crate::session::Session;
use crate::store::Store;
use crate::types::{IssueNumber, PrNumber, RunId};
use anyhow::Result;
use serde_json::{Value, json};

/// What alice writes in her review.
const REVIEW_BODY: &str = "The README still does not say how to run the tests. Please add that.";
const LINE_COMMENT: &str = "this line is a leftover of an earlier turn: say what changed instead";

pub(super) fn act(sb: &sandbox::Sandbox, ctx: &Session, run: RunId, show: &mut Show) -> Result<()> {
    let store = ctx.local()?.store;
    let issue = seen(sb, "acme/api", 2);
    let pr = store
        .run(run)?
        .and_then(|r| r.pr_number)
        .ok_or_else(|| anyhow::anyhow!("demo: the agent opened no PR for acme/api#{issue}"))?;
    show.say(&format!(
        "\n== the review act: acme/api#{issue}'s PR {} is green; alice (write access) reads it\n",
        ctx.config().profile().pr_ref(pr)
    ));
    let (asked, thread) = ask(sb, (pr, issue), show)?;
    show.step(
        asked,
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    quote_prompt(ctx, &store, run, show)?;
    wait_for(&ctx.runs_dir().join(format!("{run}/exit_status")))?;
    show.step(
        "afk watch (the review turn's commit: afk pushes it to the PR)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    let head = green(sb, issue)?;
    show.say(&format!(
        "   afk pushed {}; CI reports ci/build = success on it\n",
        &head[..head.len().min(12)]
    ));
    show_answer(sb, show);
    hold_and_approve(sb, ctx, &store, (run, pr, &thread), show)?;
    super::world::merge_then_watch(
        sb,
        ctx,
        (pr, issue),
        "afk watch (merged after one review turn: success)",
        show,
    )
}

/// alice's words on the PR that ask for a change, said; the title of the
/// watch that answers them, and (on Azure DevOps) her thread's id.
fn ask(
    sb: &sandbox::Sandbox,
    (pr, issue): (PrNumber, IssueNumber),
    show: &Show,
) -> Result<(&'static str, Value)> {
    let file = format!("afk-issue-{issue}.txt");
    if azure(sb) {
        // no review body there: a thread on the line (`active`: an ask; its
        // path as Azure Repos gives it) and her words in it
        let t = admin(
            sb,
            "/ado/thread",
            json!({"pr": pr.0, "by": "alice", "text": LINE_COMMENT, "status": "active",
                   "path": format!("/{file}"), "line": 1}),
        )?;
        admin(
            sb,
            "/ado/thread",
            json!({"pr": pr.0, "by": "alice", "thread": t["thread"], "text": REVIEW_BODY}),
        )?;
        show.say(&format!(
            "   alice opens a thread on /{file}:1 (active): \"{LINE_COMMENT}\"\n   and adds in it: \"{REVIEW_BODY}\"\n"
        ));
        let title = "afk watch (a trusted person's active thread on a line asks: one `review` turn, though CI is green)";
        return Ok((title, t["thread"].clone()));
    }
    // a comment review: no verdict, only words on a line (both forges make
    // a single line comment one); GitLab's is an unresolved thread there
    admin(
        sb,
        "/review",
        json!({"repo": "acme/api", "pr": pr.0, "user": "alice", "state": "COMMENT",
               "body": REVIEW_BODY,
               "comments": [{"path": file, "line": 1, "body": LINE_COMMENT}]}),
    )?;
    show.say(&format!(
        "   alice comments in a review: \"{REVIEW_BODY}\"\n   and on {file}:1: \"{LINE_COMMENT}\"\n"
    ));
    let title = "afk watch (a trusted comment review's line comment asks: one `review` turn, though CI is green)";
    Ok((title, Value::Null))
}

/// `/afk hold` (acknowledged, the run held and shown so), then the
/// reviewer's approval and `/afk resume`.
fn hold_and_approve(
    sb: &sandbox::Sandbox,
    ctx: &Session,
    store: &Store,
    (run, pr, thread): (RunId, PrNumber, &Value),
    show: &mut Show,
) -> Result<()> {
    // the admin API names the shared model's issue: #2 (on Azure DevOps
    // its work item's comment)
    admin(
        sb,
        "/comment",
        json!({"repo": "acme/api", "issue": 2, "user": "alice",
               "body": "/afk hold\nI want to read this one before anything else happens"}),
    )?;
    show.say("   alice comments `/afk hold` on the issue\n");
    // the acknowledgement: a like where Azure DevOps has no other quiet one
    let ack = if azure(sb) {
        "one like"
    } else {
        "one eyes reaction"
    };
    show.step(
        &format!(
            "afk watch (`/afk hold`: {ack}; no turn, no stall, no run-time limit until resume)"
        ),
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    let talk = store.talk(run)?;
    if let (Some(by), Some(since)) = (&talk.held_by, &talk.held_since) {
        show.say(&format!(
            "   afk status and the status page show run {run}: {}\n",
            crate::core::conversation::held_text(by, since, "")
        ));
    }
    approve(sb, pr, thread, show)?;
    show.step(
        "afk watch (resumed, approved, green: waiting for a person to merge)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    Ok(())
}

/// alice approves the PR and says `/afk resume`: on the PR; on Azure DevOps
/// she resolves her thread, votes 10 and says it on the work item (a new
/// PR thread is `active` there, which asks).
fn approve(sb: &sandbox::Sandbox, pr: PrNumber, thread: &Value, show: &Show) -> Result<()> {
    if azure(sb) {
        admin(
            sb,
            "/ado/thread",
            json!({"pr": pr.0, "by": "alice", "thread": thread, "status": "fixed"}),
        )?;
        admin(
            sb,
            "/ado/vote",
            json!({"pr": pr.0, "by": "alice", "vote": 10}),
        )?;
        admin(
            sb,
            "/comment",
            json!({"repo": "acme/api", "issue": 2, "user": "alice", "body": "/afk resume"}),
        )?;
        show.say("   alice resolves her thread, approves the PR (a vote of 10) and comments `/afk resume` on the work item\n");
        return Ok(());
    }
    admin(
        sb,
        "/review",
        json!({"repo": "acme/api", "pr": pr.0, "user": "alice", "state": "APPROVED",
               "body": "Thanks, that is what I meant."}),
    )?;
    admin(
        sb,
        "/comment",
        json!({"repo": "acme/api", "issue": pr.0, "user": "alice", "body": "/afk resume"}),
    )?;
    show.say("   alice approves the PR and comments `/afk resume` on it\n");
    Ok(())
}

/// The review as the agent's prompt quotes it: the fenced block after the
/// line that names the reviewer.
fn quote_prompt(ctx: &Session, store: &Store, run: RunId, show: &Show) -> Result<()> {
    let turn = store.run(run)?.map_or(1, |r| r.turns);
    let prompt = std::fs::read_to_string(ctx.runs_dir().join(format!("{run}/prompt-{turn}.md")))
        .unwrap_or_default();
    let Some(start) = quoted_from(&prompt) else {
        return Ok(());
    };
    let mut shown = vec![];
    let mut fences = 0;
    for l in prompt[start..].lines() {
        shown.push(l);
        if l.starts_with("```") {
            fences += 1;
            if fences == 2 {
                break;
            }
        }
    }
    let quoted: Vec<String> = shown
        .iter()
        .map(|l| format!("     {l}").trim_end().to_string())
        .collect();
    show.say(&format!(
        "   prompt-{turn}.md of run {run} quotes the review, fenced as data:\n{}\n",
        quoted.join("\n")
    ));
    Ok(())
}

/// Where the prompt starts quoting alice's review: her name, else (a forge
/// that names her otherwise, Azure DevOps by identity) the line that says
/// what a reviewer asked.
fn quoted_from(prompt: &str) -> Option<usize> {
    ["alice commented on lines", "alice requested changes"]
        .iter()
        .find_map(|w| prompt.find(w))
        .or_else(|| {
            let at = [
                " commented on lines of your pull request",
                " requested changes in a review",
            ]
            .iter()
            .find_map(|w| prompt.find(w))?;
            Some(prompt[..at].rfind('\n').map_or(0, |i| i + 1))
        })
}

/// afk's answer on the PR (docs/reviews.md#the-answer), as posted: the
/// commit and what the turn answered.
fn show_answer(sb: &sandbox::Sandbox, show: &Show) {
    let answers = sb
        .state
        .lock()
        .map(|f| f.comments_starting("<!-- afk:answered "))
        .unwrap_or_default();
    let Some(answer) = answers.last() else {
        return;
    };
    let lines: Vec<String> = answer
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("     {l}"))
        .collect();
    show.say(&format!(
        "   afk answers on the PR, naming the commit and what it answered:\n{}\n",
        lines.join("\n")
    ));
}

/// CI reports success on the head of the agent's branch for `issue`; its SHA.
fn green(sb: &sandbox::Sandbox, issue: IssueNumber) -> Result<String> {
    super::world::ci_status(
        sb,
        &format!("afk/issue-{issue}"),
        "success",
        "https://ci.example.org/acme/api/4",
    )
}
