//! The demo's first act: the lifecycle of an issue on acme/api (poll, the
//! agent's PR, CI, a person's merge), a blocked agent on acme/docs, a red CI
//! and its corrective turn, then the lessons and the outbox.

use super::show::Show;
use super::world::{ci_status, run_of, seen, wait_for};
use crate::sandbox;
use crate::session::Session;
use crate::store::{Store, events::Event, lessons::Snapshot};
use crate::types::RunId;
use anyhow::Result;

/// What the act leaves for the demo's closing JSON document.
pub(super) struct Lifecycle {
    pub(super) snap: Snapshot,
    pub(super) events: Vec<Event>,
    /// acme/api#2's run: green, waiting for a person (the review act's)
    pub(super) api2: RunId,
}

/// The whole act, scene by scene.
pub(super) fn act(
    sb: &sandbox::Sandbox,
    ctx: &Session,
    dir: &std::path::Path,
    show: &mut Show,
) -> Result<Lifecycle> {
    intro(sb, dir, show);
    let api1 = first_poll(sb, ctx, show)?;
    ci_goes_green(sb, ctx, show)?;
    // where every read is conditional (GitHub), an idle tick costs no rate limit: shown
    if ctx.config().profile().conditional_reads {
        idle_watch(ctx, show)?;
    }
    let store = ctx.local()?.store;
    merge(sb, ctx, &store, api1, show)?;
    let next = crate::ops::poll::tick(ctx, &crate::ops::Scope::All)?;
    let api2 = run_of(&next, "acme/api", seen(sb, "acme/api", 2))?;
    show.step(
        "afk poll (acme/api is free again: the next issue)",
        next.done(),
    );
    red_ci_act(sb, ctx, api2, show)?;
    lessons_and_events(&store, api2, show)
}

/// The sandbox's world, as the demo starts: each issue by the number afk
/// sees (on Azure DevOps a work item's id, numbered across the
/// organization). acme/web's says "Blocked by #2", as the body says it.
fn intro(sb: &sandbox::Sandbox, dir: &std::path::Path, show: &Show) {
    show.say(&format!(
        "afk demo: sandbox forge ({}) at {} (git and state in {})",
        sb.dialect.as_str(),
        sb.api_url(),
        dir.display()
    ));
    let no = |repo: &str, n: u64| seen(sb, repo, n);
    let lines = [
        format!(
            "acme/api #{} high priority, armed by alice (write)",
            no("acme/api", 1)
        ),
        format!(
            "acme/api #{} low priority, armed by alice",
            no("acme/api", 2)
        ),
        format!(
            "acme/api #{} critical, armed by mallory (read only: untrusted)",
            no("acme/api", 3)
        ),
        format!(
            "acme/web #{} armed by alice, but blocked by #2",
            no("acme/web", 1)
        ),
        format!(
            "acme/docs #{} armed by alice; it asks something only a person can answer",
            no("acme/docs", 1)
        ),
    ];
    for line in lines {
        show.say(&format!("  {line}"));
    }
    show.say("  a lesson recorded by hand for acme/api: \"run the formatter before pushing\"\n");
}

/// The first poll: two agents start; the prompt carries the hand-made lesson;
/// acme/docs's agent is blocked and watch hands it to a person. Returns
/// acme/api#1's run.
fn first_poll(sb: &sandbox::Sandbox, ctx: &Session, show: &mut Show) -> Result<RunId> {
    let (api, docs) = (seen(sb, "acme/api", 1), seen(sb, "acme/docs", 1));
    let first = crate::ops::poll::tick(ctx, &crate::ops::Scope::All)?;
    let api1 = run_of(&first, "acme/api", api)?;
    let docs1 = run_of(&first, "acme/docs", docs)?;
    show.step("afk poll", first.done());
    let prompt = std::fs::read_to_string(ctx.runs_dir().join(format!("{api1}/prompt-1.md")))
        .unwrap_or_default();
    if let Some(section) = prompt
        .split("## Lessons from earlier runs in this repo")
        .nth(1)
    {
        // the first lesson line inside the untrusted-data fence
        let line = section.lines().find(|l| l.starts_with("- ")).unwrap_or("");
        show.say(&format!(
            "   the prompt of run {api1} carries the repo's open lessons:\n  {line}\n"
        ));
    }
    show.say(&format!(
        "   the agent starts in afk's checkout of acme/api on afk/issue-{api} and commits (it holds no forge credential) ..."
    ));
    show.say(&format!(
        "   the agent on acme/docs#{docs} cannot tell which database to describe: it reports blocked ..."
    ));
    wait_for(&ctx.runs_dir().join(format!("{api1}/exit_status")))?;
    wait_for(&ctx.runs_dir().join(format!("{docs1}/exit_status")))?;
    show.say("");
    show.step(
        "afk watch (afk pushes the agent's branch and opens its PR; a blocked agent goes to a person)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    show.say(&format!(
        "   acme/docs#{docs} now carries ready-for-human and one comment with the agent's question;"
    ));
    show.say(
        "   when someone answers and adds ready-for-agent again, the next prompt carries the answer.\n",
    );
    Ok(api1)
}

/// CI reports success on the agent's branch; merging stays a person's call.
fn ci_goes_green(sb: &sandbox::Sandbox, ctx: &Session, show: &mut Show) -> Result<()> {
    let url = "https://ci.example.org/acme/api/1";
    let branch = format!("afk/issue-{}", seen(sb, "acme/api", 1));
    let head = ci_status(sb, &branch, "success", url)?;
    show.say(&format!(
        "   CI reports ci/build = success on {}\n",
        &head[..head.len().min(12)]
    ));
    show.step(
        "afk watch (green: merging is a person's call)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    Ok(())
}

/// On GitHub, a watch with nothing changed: every GET is conditional, and
/// GitHub answers 304 for free.
fn idle_watch(ctx: &Session, show: &mut Show) -> Result<()> {
    let idle = crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done();
    let line = format!(
        "   {} requests, {} of them cost rate limit (the rest were 304s)\n",
        idle.report["requests"], idle.report["costly_requests"]
    );
    show.step("afk watch (nothing changed on GitHub)", idle);
    show.say(&line);
    Ok(())
}

/// Why the demo cannot go on: run `run` has no PR. Its state and the last
/// line of its agent's log say what happened (a real agent's program that
/// cannot start, say); the hint, where to look.
fn no_pr(run: RunId, r: Option<&crate::store::runs::Run>) -> anyhow::Error {
    let state = r.map_or("unknown".to_string(), |r| r.state.to_string());
    let log = r
        .and_then(|r| r.run_dir.as_deref())
        .map(std::path::Path::new);
    let said = log.map(log_said).unwrap_or_default();
    crate::hint::hinted(
        anyhow::anyhow!("demo: run {run} has no PR (it is {state}){said}"),
        "afk demo --keep keeps the folder: runs/<id>/agent.log is the agent's whole output",
    )
}

/// "; its agent's log ends: …": the last line of the run's `agent.log`
/// (read as a bounded tail: the agent writes it), one line of at most 300
/// characters; "" when there is none.
fn log_said(run_dir: &std::path::Path) -> String {
    let last = crate::run_files::log_end(run_dir).and_then(|end| {
        end.lines()
            .last()
            .map(|l| crate::core::sanitize::one_line_cut(l, 300))
    });
    last.map(|l| format!("; its agent's log ends: {l}"))
        .unwrap_or_default()
}

/// A person merges the agent's PR; watch records the success, then finds
/// nothing left to do.
fn merge(
    sb: &sandbox::Sandbox,
    ctx: &Session,
    store: &Store,
    run: RunId,
    show: &mut Show,
) -> Result<()> {
    let r = store.run(run)?;
    let pr = r
        .as_ref()
        .and_then(|r| r.pr_number)
        .ok_or_else(|| no_pr(run, r.as_ref()))?;
    let issue = seen(sb, "acme/api", 1);
    super::world::merge_then_watch(sb, ctx, (pr, issue), "afk watch (merged: success)", show)?;
    show.step(
        "afk watch again (nothing left to do, nothing written)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    Ok(())
}

/// The lessons snapshot and the last few events of the outbox.
fn lessons_and_events(store: &Store, api2: RunId, show: &Show) -> Result<Lifecycle> {
    let snap = store.lesson_snapshot()?;
    show.say(&format!(
        "== afk lessons snapshot\nlessons: {} in all, {} open\n",
        snap.total, snap.open
    ));
    let events = store.recent_events(5)?;
    for e in &events {
        show.say(&format!("== event: {} {}", e.kind, e.text));
    }
    Ok(Lifecycle { snap, events, api2 })
}

/// CI goes red on the agent's PR: watch starts a corrective turn with the
/// failing check; the agent pushes a fix; CI is green again.
fn red_ci_act(sb: &sandbox::Sandbox, ctx: &Session, run: RunId, show: &mut Show) -> Result<()> {
    let exit = ctx.runs_dir().join(format!("{run}/exit_status"));
    let branch = format!("afk/issue-{}", seen(sb, "acme/api", 2));
    wait_for(&exit)?;
    show.step(
        &format!(
            "afk watch (the agent committed in afk's checkout: afk pushes {branch} and opens the PR)"
        ),
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    let head = ci_status(sb, &branch, "failure", "https://ci.example.org/acme/api/2")?;
    show.say(&format!(
        "   CI reports ci/build = failure on {}\n",
        &head[..head.len().min(12)]
    ));
    show.step(
        "afk watch (red CI: a corrective turn with the failing check and its build URL)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    wait_for(&exit)?;
    show.step(
        "afk watch (the corrective turn's commit: afk pushes it to the same PR)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    let head = ci_status(sb, &branch, "success", "https://ci.example.org/acme/api/3")?;
    show.say(&format!(
        "   the fix is on the PR; CI reports ci/build = success on {}\n",
        &head[..head.len().min(12)]
    ));
    show.step(
        "afk watch (green again: waiting for a person to merge)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    /// A hostile agent's log (a huge last line, many lines, control
    /// characters) is one bounded line in the demo's error.
    #[test]
    fn an_agents_log_is_one_bounded_line_in_the_demos_error() {
        let dir = std::env::temp_dir().join(format!("afk-demo-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = format!(
            "{}\nlast words \u{1b}[31m{}\n",
            "line\n".repeat(10_000),
            "x".repeat(1_000_000)
        );
        std::fs::write(dir.join("agent.log"), log).unwrap();
        let said = super::log_said(&dir);
        assert!(said.starts_with("; its agent's log ends: "), "{said}");
        assert!(!said.contains('\n') && !said.contains('\u{1b}'), "{said}");
        assert!(said.chars().count() < 400, "{}", said.len());
        assert_eq!(super::log_said(&dir.join("none")), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
