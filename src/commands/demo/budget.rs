//! The demo's budget act (`[budget]`): an agent whose spend keeps growing is
//! stopped over `run_usd` and its run escalated with the figures; the day's
//! spend then reaches `day_usd` and poll dispatches nothing more that day.

use super::show::Show;
use super::world::{seed_sandbox, wait_for};
use crate::example::armed_repo;
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
    (agent, real): (&std::path::Path, Option<crate::types::AgentKind>),
    show: &mut Show,
) -> Result<()> {
    let ctx = world(sb, dir, (agent, real), show.json)?;
    if let Some(kind) = real {
        return real_act(sb, &ctx, (dir, kind), show);
    }
    show.say(&format!(
        "== the budget act: [budget] run_usd = {RUN_USD}, day_usd = {DAY_USD} ({})",
        dir.join("budget.toml").display()
    ));
    show.say(
        "   acme/pay has two ready issues; its agent goes round in circles, reporting a growing spend\n   ({\"cost_usd\": …} lines in its progress file) and never stopping by itself\n",
    );
    let poll = crate::ops::poll::tick(&ctx, &crate::ops::Scope::All)?;
    let run = super::world::run_of(&poll, "acme/pay", super::world::seen(sb, "acme/pay", 1))?;
    show.step("afk poll (nothing spent today yet)", poll.done());
    wait_for(&super::world::agent_note(
        &ctx.runs_dir().join(run.to_string()),
        "spent",
    ))?;
    show.say(&format!(
        "   the agent has reported ${SPENT} and is still at work ...\n"
    ));
    show.step(
        "afk watch (over budget.run_usd: the agent is stopped, a person gets the issue with the figures)",
        crate::ops::event_loop::watch_tick(&ctx, &crate::ops::Scope::All)?.done(),
    );
    let store = ctx.local()?.store;
    if let Some(r) = store.run(run)? {
        show.say(&format!(
            "   run {run}: {} ({}), spend {} — lesson budget_exceeded recorded\n",
            r.state,
            r.end_reason.unwrap_or_default(),
            r.spend_usd
                .map_or("not reported".into(), crate::core::budget::spend::usd)
        ));
    }
    show.step(
        "afk poll (today's spend reached budget.day_usd: nothing more is dispatched until 00:00 UTC)",
        crate::ops::poll::tick(&ctx, &crate::ops::Scope::All)?.done(),
    );
    Ok(())
}

/// The act with a real agent (docs/sandbox.md#the-scripted-model): every answer
/// of its model reports a costly number of input tokens, so Claude Code stops
/// itself inside the turn at its `--max-budget-usd` (what is left of run_usd),
/// and Codex's priced usage is over the limit when its turn ends; watch
/// escalates `over-budget`.
fn real_act(
    sb: &sandbox::Sandbox,
    ctx: &Session,
    (dir, kind): (&std::path::Path, crate::types::AgentKind),
    show: &mut Show,
) -> Result<()> {
    show.say(&format!(
        "== the budget act: [budget] run_usd = {RUN_USD}, day_usd = {DAY_USD} ({})",
        dir.join("budget.toml").display()
    ));
    show.say(&format!(
        "   acme/pay has two ready issues; every answer of {kind}'s model reports a costly number of tokens
"
    ));
    let poll = crate::ops::poll::tick(ctx, &crate::ops::Scope::All)?;
    let run = super::world::run_of(&poll, "acme/pay", super::world::seen(sb, "acme/pay", 1))?;
    show.step("afk poll (nothing spent today yet)", poll.done());
    wait_for(&ctx.runs_dir().join(format!("{run}/exit_status")))?;
    show.say(match kind {
        crate::types::AgentKind::Claude => {
            "   claude stopped itself at --max-budget-usd (AFK_BUDGET_USD, what is left of run_usd) ...\n"
        }
        _ => "   codex's turn ended (where the model gateway runs, it stopped the turn at run_usd), its tokens priced by [runner.prices] ...\n",
    });
    show.step(
        "afk watch (over budget.run_usd: a person gets the issue with the figures)",
        crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    show.step(
        "afk poll (today's spend reached budget.day_usd: nothing more is dispatched until 00:00 UTC)",
        crate::ops::poll::tick(ctx, &crate::ops::Scope::All)?.done(),
    );
    Ok(())
}

/// A world of its own (config, state, run folders) on the same sandbox:
/// `acme/pay` with two ready issues, the scripted agent in `spend` mode, or a
/// real agent whose model's every answer is expensive.
fn world(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    (agent, real): (&std::path::Path, Option<crate::types::AgentKind>),
    json: bool,
) -> Result<Session> {
    let mut seed = armed_repo(
        "acme/pay",
        &[(1, "Retry failed payments"), (2, "Refund endpoint")],
    );
    // Codex's under the size at which it compacts its thread (its history,
    // which the script counts steps in, would start over)
    let tokens = match real {
        Some(crate::types::AgentKind::Codex) => 50_000,
        _ => 250_000,
    };
    let costly = Some(sandbox::model_api::Usage {
        input: tokens,
        output: 10,
        ..Default::default()
    });
    for i in &mut seed.repos[0].issues {
        i.script = Some(vec![
            sandbox::model_api::Step {
                shell: Some("true".into()),
                usage: costly,
                ..Default::default()
            },
            sandbox::model_api::Step {
                text: Some("Still going round in circles.".into()),
                usage: costly,
                ..Default::default()
            },
        ]);
    }
    seed_sandbox(sb, seed)?;
    let runner = match real {
        Some(kind) => format!(
            "agent = \"{kind}\"\nworkspace = \"afk\"\n[runner.prices]\ninput = 25.0\ncached_input = 2.5\noutput = 100.0\n\
             [runner.prices.models.\"gpt-5.5\"]\ninput = 25.0\ncached_input = 2.5\ncache_write = 25.0\noutput = 100.0"
        ),
        None => format!(
            "command = [\"env\", \"AFK_DEMO_MODE=spend\", \"AFK_DEMO_COST={SPENT}\", \"sh\", \"{}\"]",
            agent.display()
        ),
    };
    let config_text = format!(
        "state_path = \"budget.db\"\nruns_dir = \"budget-runs\"\n\
         [forge]\n{forge}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
         [poll]\nenabled = true\nallowlist = [\"acme/pay\"]\n\
         [runner]\n{confine}{runner}\n\
         [budget]\npause_for = \"0s\"\nrun_usd = {RUN_USD}\nday_usd = {DAY_USD}\n",
        forge = super::world::forge_lines(sb, &["acme/pay"]),
        confine = super::world::confine_line(),
    );
    super::world::act_ctx(&dir.join("budget.toml"), &config_text, json)
}
