//! The demo's hands on its sandbox: seeding the forge, an act's config,
//! CI statuses and merges as a person or a CI would make them, and waiting
//! for the scripted agent; whether this machine can make the agent's box.

use crate::sandbox;
use crate::session::Session;
use crate::types::{IssueNumber, PrNumber, RunId};
use anyhow::Result;

/// Seed the sandbox's forge with an act's repos and issues.
pub(crate) fn seed_sandbox(sb: &sandbox::Sandbox, seed: sandbox::Seed) -> Result<()> {
    sb.state
        .lock()
        .unwrap()
        .seed(seed)
        .map_err(|e| anyhow::anyhow!("demo: {e}"))
}

/// An act's config, written to `path` and loaded as the act's context.
pub(crate) fn act_ctx(path: &std::path::Path, text: &str, json: bool) -> Result<Session> {
    std::fs::write(path, text)?;
    Session::on_file(path, false, json)
}

/// The run a poll tick dispatched for `repo#issue`; else an error that says
/// what the tick made of it (its skip, or the tick's errors).
pub(crate) fn run_of(t: &crate::ops::poll::Ended, repo: &str, issue: IssueNumber) -> Result<RunId> {
    let r = &t.report;
    if let Some(id) = (r.dispatched.iter())
        .find(|d| d.repo == repo && d.issue == issue)
        .and_then(|d| d.run_id)
    {
        return Ok(id);
    }
    let why: Vec<String> = (r.skipped.iter())
        .filter(|s| s.repo.as_ref().is_some_and(|r| r == repo) && s.issue == issue)
        .map(|s| match &s.detail {
            Some(d) => format!("skipped {}: {d}", s.reason),
            None => format!("skipped {}", s.reason),
        })
        .chain(r.errors.iter().map(|e| e.message.clone()))
        .collect();
    anyhow::bail!(
        "demo: {repo}#{issue} was not dispatched ({})",
        match why.is_empty() {
            true => "the tick says nothing of it".to_string(),
            false => why.join("; "),
        }
    )
}

/// The number afk sees for the shared model's issue `(repo, n)`: the work
/// item's id on Azure DevOps (numbered across the organization), `n` elsewhere.
pub(crate) fn seen(sb: &sandbox::Sandbox, repo: &str, n: u64) -> IssueNumber {
    IssueNumber(sb.issue_seen(repo, n))
}

/// An act's `[forge]` lines for the allowlisted `repos`: the sandbox's
/// keys and what its dialect needs of each repository (Azure DevOps's area
/// paths).
pub(crate) fn forge_lines(sb: &sandbox::Sandbox, repos: &[&str]) -> String {
    format!("{}\n{}", sb.forge_keys(), sb.repo_keys(repos))
}

/// Whether the sandbox plays Azure DevOps.
pub(crate) fn azure(sb: &sandbox::Sandbox) -> bool {
    sb.dialect == sandbox::Dialect::AzureDevops
}

/// CI reports `state` on the head of `branch` of acme/api (an agent's branch); its SHA.
pub(crate) fn ci_status(
    sb: &sandbox::Sandbox,
    branch: &str,
    state: &str,
    url: &str,
) -> Result<String> {
    let git_dir = sb.state.lock().unwrap().git_dir("acme/api");
    let head = sandbox::git::head(&git_dir, branch).unwrap_or_default();
    sb.state
        .lock()
        .unwrap()
        .add_status(
            "acme/api",
            &head,
            &serde_json::json!({"state": state, "context": "ci/build", "target_url": url}),
        )
        .map_err(|e| anyhow::anyhow!("demo: {e}"))?;
    Ok(head)
}

/// A person merges acme/api's `pr`, which closes `issue` (as afk sees
/// both); then a watch tick says `what`.
pub(crate) fn merge_then_watch(
    sb: &sandbox::Sandbox,
    ctx: &Session,
    (pr, issue): (PrNumber, IssueNumber),
    what: &str,
    show: &mut super::show::Show,
) -> Result<()> {
    show.say(&format!(
        "   a person merges PR {}; the forge closes issue #{issue}\n",
        ctx.config().profile().pr_ref(pr)
    ));
    person_merges(sb, "acme/api", pr)?;
    show.step(
        what,
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    Ok(())
}

/// A person merges `repo`'s PR `pr` (afk's number for it). On Azure DevOps
/// that is alice completing it with "complete associated work items" (the
/// shared model's merge leaves the Azure DevOps pull request active and
/// knows no `pullRequestId`); elsewhere the forge's merge, which closes the
/// issue its body names. The sandbox's state must not be locked here.
pub(crate) fn person_merges(sb: &sandbox::Sandbox, repo: &str, pr: PrNumber) -> Result<()> {
    if azure(sb) {
        let body = serde_json::json!({"pr": pr.0, "by": "alice", "close_items": true});
        admin(sb, "/ado/complete", body)?;
        return Ok(());
    }
    sb.state
        .lock()
        .unwrap()
        .merge_pr(repo, pr.0)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("demo: {e}"))
}

/// Whether this machine can make the agent's box (asked once per demo).
pub(crate) fn can_box() -> std::result::Result<(), crate::types::Invalid> {
    static CAN: std::sync::OnceLock<std::result::Result<(), crate::types::Invalid>> =
        std::sync::OnceLock::new();
    CAN.get_or_init(crate::runner::agent_box::can_box).clone()
}

/// The `[runner]` line of every act's config: nothing where the machine can
/// make the agent's box (the default), else `confine = "none"`.
pub(crate) fn confine_line() -> &'static str {
    crate::core::demo::confine_line(can_box().is_ok())
}

/// A file the scripted agent writes in its notes: its home in its box, else
/// the run folder (`examples/demo-agent.sh`).
pub(crate) fn agent_note(run_dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    crate::core::demo::agent_note(run_dir, name, can_box().is_ok())
}

/// Wait (bounded) for the scripted agent to finish.
pub(crate) fn wait_for(p: &std::path::Path) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !p.exists() {
        if std::time::Instant::now() > deadline {
            anyhow::bail!(
                "demo: the scripted agent did not finish within 30 s ({})",
                p.display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

pub(super) use crate::example::{admin, admin_get};
