//! `afk doctor`: read-only checks, one line each; exit 1 if any fails.

use super::{Ctx, emit};
use crate::forge::{ForgeError, fan_out};
use crate::store::Store;
use anyhow::Result;
use serde::Serialize;

#[derive(Serialize)]
struct Check {
    #[serde(rename = "check")]
    name: String,
    ok: bool,
    detail: String,
}

/// What `afk doctor --json` prints.
#[derive(Serialize)]
struct Report<'a> {
    command: &'static str,
    ok: bool,
    checks: &'a [Check],
}

/// The `[budget]` limits, and whether they can see what the agent spends: a
/// money limit over a `claude` that prints no JSON result would never act.
fn budget_check(c: &crate::config::Config) -> (bool, String) {
    use crate::core::spend::{claude_reports_spend, usd};
    use crate::runner::command::{Invokes, invoked_program};
    let b = &c.budget;
    let money = |v: f64| if v > 0.0 { usd(v) } else { "none".into() };
    let limits = format!(
        "run_usd {}, day_usd {}, repo_day_usd {}, run_time {}",
        money(b.run_usd),
        money(b.day_usd),
        money(b.repo_day_usd),
        b.run_time
            .map_or("none".into(), crate::config::format_duration)
    );
    let any_money = b.run_usd > 0.0 || b.day_usd > 0.0 || b.repo_day_usd > 0.0;
    if !any_money && b.run_time.is_none() {
        return (true, "no limits set ([budget])".into());
    }
    let command = [&c.runner.command[..], &c.runner.resume_command[..]];
    let blind = c.runner.kind == crate::config::RunnerKind::Command
        && command.iter().any(|argv| {
            matches!(invoked_program(argv), Some(Invokes::Program(p))
                if claude_reports_spend(&p, argv) == Some(false))
        });
    if any_money && blind {
        return (
            false,
            format!(
                "{limits}; but runner.command runs claude without --output-format json (or stream-json): it reports no spend, so the money limits never act"
            ),
        );
    }
    (
        true,
        format!(
            "{limits}; spend is what agents report (cost_usd lines, Claude Code's JSON result, a thread's cost_usd): an agent that reports none counts as $0"
        ),
    )
}

pub fn run(ctx: &Ctx) -> Result<u8> {
    let c = &ctx.config;
    let mut checks = vec![Check {
        name: "config".into(),
        ok: true,
        detail: format!("{} parses and validates", ctx.config_path.display()),
    }];
    let mut add = |name: &str, ok: bool, detail: String| {
        checks.push(Check {
            name: name.into(),
            ok,
            detail,
        })
    };
    add(
        "poll",
        true,
        if c.poll.enabled {
            format!("enabled, {} repos allowlisted", c.poll.allowlist.len())
        } else {
            "disabled (poll.enabled = false): ticks do nothing".into()
        },
    );
    let sp = ctx.state_path();
    match Store::open_existing(&sp) {
        Ok(Some(_)) => add(
            "state",
            true,
            format!("{} opens and passes its check", sp.display()),
        ),
        Ok(None) => add(
            "state",
            true,
            format!(
                "{} does not exist yet; the first tick creates it",
                sp.display()
            ),
        ),
        Err(e) => add("state", false, e.to_string()),
    }
    if ctx.stop_file().exists() {
        add(
            "stop file",
            true,
            format!(
                "{} exists: every tick does nothing",
                ctx.stop_file().display()
            ),
        );
    }
    match crate::runner::from_config(c) {
        Ok(r) => {
            let (ok, detail) = r.check();
            add("runner", ok, detail);
        }
        Err(e) => add("runner", false, e.to_string()),
    }
    let (ok, detail) = budget_check(c);
    add("budget", ok, detail);
    match crate::forge::from_config(&ctx.config) {
        Err(e) => add("forge", false, e.to_string()),
        Ok(forge) => match forge.me() {
            Err(e) => add("forge", false, e.to_string()),
            Ok(me) => {
                add(
                    "forge",
                    true,
                    format!("{} answers; token is {}", c.api_root()?, me.login),
                );
                // what only this forge can say (GitHub: token scopes, rate limit left)
                for d in forge.diagnose() {
                    add(&d.check, d.ok, d.detail);
                }
                let results = fan_out(&c.poll.allowlist, c.forge.concurrency, |repo| {
                    let mut out = vec![];
                    match forge.repo_labels(repo) {
                        Err(e) => out.push((format!("repo {repo}"), false, e.to_string())),
                        Ok(labels) => {
                            let missing: Vec<&String> = [
                                &c.poll.ready_label,
                                &c.poll.in_progress_label,
                                &c.watch.human_label,
                            ]
                            .into_iter()
                            .filter(|n| !labels.iter().any(|l| &l.name == *n))
                            .collect();
                            if missing.is_empty() {
                                out.push((
                                    format!("repo {repo}"),
                                    true,
                                    "labels present".to_string(),
                                ));
                            } else {
                                out.push((
                                    format!("repo {repo}"),
                                    false,
                                    format!(
                                        "missing labels {} (afk init --create-labels)",
                                        missing
                                            .iter()
                                            .map(|m| format!("\"{m}\""))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                ));
                            }
                        }
                    }
                    match forge.permission(repo, &me.login) {
                        Ok(p) => out.push((format!("repo {repo}"), true, format!(
                            "collaborator permissions readable ({} has {})", me.login, p.unwrap_or_default()))),
                        Err(e) if ForgeError::status_of(&e) == Some(403) => out.push((format!("repo {repo}"), false, format!(
                            "{e}: afk's account must be allowed to read collaborator permissions to check who armed an issue (Gitea: a repo admin; GitHub: push access)"))),
                        Err(e) => out.push((format!("repo {repo}"), false, e.to_string())),
                    }
                    out
                });
                for r in results.into_iter().flatten() {
                    add(&r.0, r.1, r.2);
                }
            }
        },
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    let report = Report {
        command: "doctor",
        ok: failed == 0,
        checks: &checks,
    };
    let human: String = checks
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}\n",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            )
        })
        .collect();
    emit(ctx.json, &report, &human);
    Ok(if failed == 0 { 0 } else { 1 })
}
