//! The demo's budget act (`[budget]`): an agent whose spend keeps growing is
//! stopped over `run_usd` and its run escalated with the figures; the day's
//! spend then reaches `day_usd` and poll dispatches nothing more that day.

use super::{Show, armed_repo, forge_keys, seed_sandbox, wait_for};
use crate::sandbox;
use crate::session::Session;
use anyhow::Result;

/// What the act's agent reports spending, and the limits it runs into.
const SPENT: &str = "1.25";
const RUN_USD: &str = "1.00";
const DAY_USD: &str = "1.00";

/// The act: poll, the agent reports more than `run_usd` and works on, watch
/// stops it and escalates, poll stops at `day_usd`.
pub(super) fn act(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    agent: &std::path::Path,
    show: &mut Show,
) -> Result<()> {
    let ctx = world(sb, dir, agent, show.json)?;
    show.say(&format!(
        "== the budget act: [budget] run_usd = {RUN_USD}, day_usd = {DAY_USD} ({})",
        dir.join("budget.toml").display()
    ));
    show.say(
        "   acme/pay has two ready issues; its agent goes round in circles, reporting a growing spend\n   ({\"cost_usd\": …} lines in its progress file) and never stopping by itself\n",
    );
    let poll = crate::commands::poll::tick(&ctx)?;
    let run = super::run_of(&poll, "acme/pay", crate::types::IssueNumber(1))?;
    show.step("afk poll (nothing spent today yet)", poll.done());
    wait_for(&ctx.runs_dir().join(format!("{run}/spent")))?;
    show.say(&format!(
        "   the agent has reported ${SPENT} and is still at work ...\n"
    ));
    show.step(
        "afk watch (over budget.run_usd: the agent is stopped, a person gets the issue with the figures)",
        crate::commands::watch::tick(&ctx)?.done(),
    );
    let store = ctx.local()?.store;
    if let Some(r) = store.run(run)? {
        show.say(&format!(
            "   run {run}: {} ({}), spend {} — lesson budget_exceeded recorded\n",
            r.state,
            r.end_reason.unwrap_or_default(),
            r.spend_usd
                .map_or("not reported".into(), crate::core::spend::usd)
        ));
    }
    show.step(
        "afk poll (today's spend reached budget.day_usd: nothing more is dispatched until 00:00 UTC)",
        crate::commands::poll::tick(&ctx)?.done(),
    );
    Ok(())
}

/// A world of its own (config, state, run folders) on the same sandbox:
/// `acme/pay` with two ready issues, the scripted agent in `spend` mode.
fn world(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    agent: &std::path::Path,
    json: bool,
) -> Result<Session> {
    let seed = armed_repo(
        "acme/pay",
        &[(1, "Retry failed payments"), (2, "Refund endpoint")],
    );
    seed_sandbox(sb, seed)?;
    let config_text = format!(
        "state_path = \"budget.db\"\nruns_dir = \"budget-runs\"\n\
         [forge]\n{forge}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
         [poll]\nenabled = true\nallowlist = [\"acme/pay\"]\n\
         [runner]\ncommand = [\"env\", \"AFK_DEMO_MODE=spend\", \"AFK_DEMO_COST={SPENT}\", \"sh\", \"{agent}\"]\n\
         [budget]\nrun_usd = {RUN_USD}\nday_usd = {DAY_USD}\n",
        forge = forge_keys(sb),
        agent = agent.display()
    );
    super::act_ctx(&dir.join("budget.toml"), &config_text, json)
}
