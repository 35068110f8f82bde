//! The demo's canary act
//! (docs/how-it-works.md#afk-harvest-and-the-template-canary): a worse template
//! version goes live as the canary and harvest rolls it back, with the numbers.

use super::show::Show;
use super::world::{seed_sandbox, wait_for};
use crate::example::issue;
use crate::sandbox::{self, Seed, SeedRepo};
use crate::session::Session;
use crate::types::RepoName;
use anyhow::Result;
use std::collections::BTreeMap;

/// Repos of the canary act, each with a few ready issues.
const LAB_REPOS: usize = 6;
const LAB_ISSUES: u64 = 4;
/// The line of the canary version the scripted agent does worse with.
const WORSE: &str =
    "Also try the new AFK-DEMO-WORSE shortcut: stop as soon as the tests look hard.";

/// The canary act: `implementer@2` goes live beside `implementer@1`;
/// the scripted agent opens no PR when its prompt carries the canary's new
/// line, so its runs escalate while the champion's succeed; harvest rolls the
/// canary back at its first checkpoint that is sure, with the numbers. A
/// world of its own (config, state, run folders) on the same sandbox. Its
/// status page is written to `page`.
pub(super) fn act(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    (agent, real): (&std::path::Path, Option<crate::types::AgentKind>),
    (keep, page): (bool, &std::path::Path),
    show: &mut Show,
) -> Result<()> {
    let repos = seed_lab(sb)?;
    let ctx = lab_ctx(sb, dir, (agent, real), &repos, show.json)?;
    let canary = templates(&ctx)?;
    show.say(&format!(
        "== the canary act: {} repos with {} ready issues each, a world of its own ({})",
        LAB_REPOS,
        LAB_ISSUES,
        dir.join("canary.toml").display()
    ));
    show.say(&format!(
        "   implementer@1 is current; implementer@2 adds one line and goes live as the canary:\n     \"{WORSE}\"\n   harvest.sample = 0.5, checkpoints at 4, 6 and 8 canary outcomes (min_samples 4, check_every 2, max_samples 8)\n   the {} does worse with that line: it stops without committing anything\n",
        match real {
            Some(kind) => format!("real {kind}, answered by the scripted model,"),
            None => "scripted agent".to_string(),
        }
    ));
    let lab = Lab {
        sb,
        forge: ctx.forge()?,
        ctx,
        repos,
        canary,
    };
    for round in 1..=5 {
        if lab.round(round, show)? {
            break;
        }
    }
    epilogue(&lab.ctx, keep, page, show)
}

/// The act's world: its config and state, its repos and forge client, and
/// the canary's version.
struct Lab<'a> {
    sb: &'a sandbox::Sandbox,
    ctx: Session,
    repos: Vec<String>,
    forge: Box<dyn crate::forge::Forge>,
    canary: i64,
}

/// Seed the lab repos, each with a few ready issues; returns their names.
fn seed_lab(sb: &sandbox::Sandbox) -> Result<Vec<String>> {
    let collab: BTreeMap<String, String> = [("alice".to_string(), "write".to_string())].into();
    let repos: Vec<String> = (1..=LAB_REPOS).map(|i| format!("acme/lab{i}")).collect();
    let seed = Seed {
        repos: repos
            .iter()
            .map(|name| SeedRepo {
                name: name.clone(),
                collaborators: collab.clone(),
                issues: (1..=LAB_ISSUES)
                    .map(|n| {
                        let mut i =
                            issue(n, &format!("Task {n}"), &["ready-for-agent"], "alice", "");
                        // a real agent commits unless its prompt carries the worse line
                        let mut steps = sandbox::model_api::default_script();
                        steps[0].unless_prompt = Some("AFK-DEMO-WORSE".into());
                        i.script = Some(steps);
                        i
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    seed_sandbox(sb, seed)?;
    Ok(repos)
}

/// The act's config (canary on, small checkpoints), written and loaded.
fn lab_ctx(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    (agent, real): (&std::path::Path, Option<crate::types::AgentKind>),
    repos: &[String],
    json: bool,
) -> Result<Session> {
    // the scripted agent works in afk's workspace as a real one does: it
    // commits, afk pushes and opens the PR, and it holds no credential
    let runner = match real {
        Some(kind) => format!("agent = \"{kind}\"\nworkspace = \"afk\""),
        None => crate::example::agent_command(sb, agent),
    };
    let allow: Vec<String> = repos.iter().map(|r| format!("\"{r}\"")).collect();
    let config_text = format!(
        "state_path = \"canary.db\"\nruns_dir = \"canary-runs\"\n\
         [forge]\n{forge}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
         [poll]\nenabled = true\nallowlist = [{allow}]\nmax_in_flight = {LAB_REPOS}\nmax_per_tick = {LAB_REPOS}\n\
         [runner]\n{confine}{runner}\n\
         [watch]\nci_contexts = [\"ci/build\"]\nfix_forward_max = 1\n\
         [harvest]\ncanary = true\nsample = 0.5\nmin_samples = 4\ncheck_every = 2\nmax_samples = 8\nearly_failures = 0\n",
        forge =
            super::world::forge_lines(sb, &repos.iter().map(String::as_str).collect::<Vec<_>>()),
        allow = allow.join(", "),
        confine = super::world::confine_line(),
    );
    super::world::act_ctx(&dir.join("canary.toml"), &config_text, json)
}

/// `implementer@1` current, `implementer@2` (one worse line) the live
/// canary; returns the canary's version.
fn templates(ctx: &Session) -> Result<i64> {
    let v1 =
        "You are a careful software engineer. Work on one issue, test it, open a pull request.\n";
    let mut store = ctx.local()?.store;
    store.add_template("implementer", v1, false, true)?;
    let v2 = store.add_template("implementer", &format!("{v1}{WORSE}\n"), true, true)?;
    Ok(v2.version)
}

impl Lab<'_> {
    /// One round: poll, CI green and merges, two watches, harvest. True when
    /// harvest decided.
    fn round(&self, round: usize, show: &mut Show) -> Result<bool> {
        self.poll(round, show)?;
        // the agents work in afk's workspace: a watch forwards the turns
        // (and opens the PRs) before CI and the merges
        let forwarded =
            crate::ops::event_loop::watch_tick(&self.ctx, &crate::ops::Scope::All)?.done();
        show.ticks.push(forwarded.report);
        let store = self.ctx.local()?.store;
        for r in store.runs_in_flight()? {
            wait_for(&self.ctx.runs_dir().join(format!("{}/exit_status", r.id)))?;
        }
        let merged = self.merge_green()?;
        self.watch_twice(merged, show)?;
        let h = crate::ops::harvest::tick(&self.ctx)?;
        let decided = !h.report.decisions.is_empty();
        show.step(&format!("afk harvest (round {round})"), h.done());
        Ok(decided)
    }

    /// Poll, say how many runs went to the canary, and wait for them all.
    fn poll(&self, round: usize, show: &mut Show) -> Result<()> {
        let ctx = &self.ctx;
        let poll = crate::ops::poll::tick(ctx, &crate::ops::Scope::All)?;
        let to_canary = poll
            .report
            .dispatched
            .iter()
            .filter(|d| d.template_version == Some(self.canary))
            .count();
        let ids: Vec<crate::types::RunId> = poll
            .report
            .dispatched
            .iter()
            .filter_map(|d| d.run_id)
            .collect();
        show.say(&format!(
            "-- round {round}: poll dispatched {}, {to_canary} of them routed to implementer@2",
            crate::core::plural(ids.len(), "run", "runs")
        ));
        show.worst = show.worst.max(poll.code);
        show.ticks.push(serde_json::to_value(&poll.report)?);
        for id in &ids {
            wait_for(&ctx.runs_dir().join(format!("{id}/exit_status")))?;
        }
        Ok(())
    }

    /// CI goes green on every PR and a person merges it; returns how many.
    fn merge_green(&self) -> Result<usize> {
        let sb = self.sb;
        let mut merged = 0;
        for repo in &self.repos {
            let name = RepoName::parse(repo).map_err(|e| anyhow::anyhow!("demo: {e}"))?;
            for p in self.forge.open_pulls(&name)? {
                let green = serde_json::json!({"state": "success", "context": "ci/build"});
                (sb.state.lock().unwrap())
                    .add_status(repo, &p.head.sha, &green)
                    .map_err(|e| anyhow::anyhow!("demo: {e}"))?;
                // the state unlocked: on Azure DevOps a person's merge is an admin call
                super::world::person_merges(sb, repo, p.number)?;
                merged += 1;
            }
        }
        Ok(merged)
    }

    /// Watch records the merges; the runs without a PR get one corrective
    /// turn, fail again, and the second watch records that.
    fn watch_twice(&self, merged: usize, show: &mut Show) -> Result<()> {
        let ctx = &self.ctx;
        let first = crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done();
        let second_at = crate::clock::ts(crate::clock::now());
        show.say(&format!(
            "   {} green and merged; afk watch: {}",
            crate::core::plural(merged, "PR", "PRs"),
            first
                .human
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("watch: ")
        ));
        show.ticks.push(first.report);
        // the runs without a PR got one corrective turn; they fail again
        let store = ctx.local()?.store;
        for r in store.runs_in_flight()? {
            wait_for(&ctx.runs_dir().join(format!("{}/exit_status", r.id)))?;
        }
        // outcomes are ordered by end time in whole seconds: let the second
        // turn, so the order shown is the order in which the runs ended
        while crate::clock::ts(crate::clock::now()) == second_at {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let second = crate::ops::event_loop::watch_tick(ctx, &crate::ops::Scope::All)?.done();
        show.say(&format!(
            "   the canary's runs failed their corrective turn too; afk watch: {}",
            second
                .human
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("watch: ")
        ));
        show.ticks.push(second.report);
        Ok(())
    }
}

/// The canary's fate and the outbox, how to see the decision trail, and the
/// world's status page.
fn epilogue(ctx: &Session, keep: bool, page: &std::path::Path, show: &mut Show) -> Result<()> {
    let store = ctx.local()?.store;
    let rollbacks = store
        .recent_events(20)?
        .iter()
        .filter(|e| e.kind == crate::core::kinds::EventKind::CandidateRolledBack)
        .count();
    let statuses: Vec<String> = store
        .templates(Some("implementer"))?
        .iter()
        .map(|v| format!("implementer@{} {}", v.version, v.status))
        .collect();
    show.say(&format!(
        "   now: {}; the outbox holds {}",
        statuses.join(", "),
        crate::core::plural(rollbacks, "rollback event", "rollback events")
    ));
    // a command that works from where the user stands: the config by its full path
    let see = format!(
        "afk --config {} template show implementer@2",
        ctx.config_path().display()
    );
    show.say(&if keep {
        format!("   the decision trail: `{see}`")
    } else {
        "   the decision trail: run `afk demo --keep`, then the `afk --config …/canary.toml template show implementer@2` it prints".to_string()
    });
    // the status page of this world: runs, escalations, the canary's evidence
    crate::page::write(ctx.config(), ctx.paths(), &ctx.read_store()?, page)?;
    Ok(())
}
