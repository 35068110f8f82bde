//! What this host holds: the state folder, the state file, the stop file, the
//! metrics and status page folders, the variables the config names and the
//! `[budget]` limits. The runner's own checks (its paths, the workspace, the
//! agent's box) are its own: `runner::checks`.

use super::Doctor;
use crate::core::doctor::{self, Level};
use crate::session::Session;

/// The `[budget]` limits, and whether they can see what the agent spends: a
/// money limit over a `claude` that prints no JSON result would never act.
/// `blind`: the runner's command is known to report no spend
/// (`runner::checks::Checks::reports_no_spend`).
pub(super) fn budget_check(
    c: &crate::config::Config,
    blind: bool,
    metered: bool,
) -> (bool, String) {
    use crate::core::budget::spend::usd;
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
    if metered {
        return (
            true,
            format!(
                "{limits}; spend is metered by afk's model gateway: each model request priced from afk's price table of {} ([runner.prices] where it names a model) and stopped at the budget mid-turn; what an agent reports does not count",
                crate::core::gateway::prices::table().date
            ),
        );
    }
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

/// A named agent's spend as the money limits see it: Codex's tokens priced
/// at all-zero prices make no figure (`core::doctor::codex_prices`).
pub(super) fn agent_spend_check(c: &crate::config::Config) -> Option<(Level, String)> {
    let b = &c.budget;
    let money = b.run_usd > 0.0 || b.day_usd > 0.0 || b.repo_day_usd > 0.0;
    doctor::codex_prices(c.runner.agent(), c.runner.prices.is_zero(), money)
}

/// Each model the config asks for that has no price
/// (docs/runners.md#prices-the-shipped-table-and-overriding-it): the gateway
/// would price it at its API's highest (`core::gateway::doctor`); with a
/// money limit set, poll dispatches nothing (`budget::unpriced_refusal`):
/// a FAIL then, else a WARN.
pub(super) fn unpriced_models(c: &crate::config::Config) -> Vec<(Level, String)> {
    use crate::core::gateway::{Api, doctor, prices};
    let Some(api) = Api::of_agent(c.runner.agent()) else {
        return vec![];
    };
    let asked = crate::budget::asked_models(c);
    let models = c.runner.prices.models();
    let p = prices::Prices {
        models: &models,
        flat: c.runner.prices.flat(),
        table: prices::table(),
    };
    let level = match crate::budget::money_limited(&c.budget) {
        true => Level::Fail,
        false => Level::Warn,
    };
    doctor::unpriced_lines(api, &asked, &p)
        .into_iter()
        .map(|l| match level {
            Level::Fail => (
                level,
                format!("{l}: with a money limit set, poll dispatches nothing until it is priced"),
            ),
            _ => (level, l),
        })
        .collect()
}

/// What this host holds: the state file, the stop file, the metrics folder,
/// the variables the config names.
pub(super) fn local(ctx: &Session, d: &mut Doctor) {
    let sp = ctx.state_path();
    let dir = ctx.state_dir();
    let (level, text) = doctor::state_folder(&dir.display().to_string(), probe_state_folder(dir));
    let folder_ok = level != Level::Fail;
    d.add("state folder", level, text);
    match ctx.existing_store() {
        Ok(Some(_)) => d.check(
            "state",
            true,
            format!("{} opens and passes its check", sp.display()),
        ),
        Ok(None) if !folder_ok => {}
        // a folder it cannot read: the folder's failure says it once
        Err(e) if !folder_ok && unreadable(&e) => {}
        Ok(None) => d.check(
            "state",
            true,
            format!(
                "{} does not exist yet; the first tick creates it",
                sp.display()
            ),
        ),
        Err(e) => d.check("state", false, crate::command_error::person_line(&e)),
    }
    if ctx.config().runs_dir.is_some() {
        let runs = ctx.runs_dir();
        let seen = folder_seen(runs);
        let (level, text) =
            crate::core::doctor::upgrade::folder("runs_dir", &runs.display().to_string(), &seen);
        d.add("runs folder", level, text);
    }
    if ctx.stop_file().exists() {
        let why = format!(
            "{} exists: every tick does nothing",
            ctx.stop_file().display()
        );
        d.add("stop file", Level::Warn, why);
    }
    if let Some(file) = ctx.config().metrics_file() {
        let dir = file.parent().unwrap_or(std::path::Path::new("."));
        let (level, text) = doctor::metrics_dir(
            &file.display().to_string(),
            &dir.display().to_string(),
            dir.is_dir(),
            writable(dir),
        );
        d.add("metrics", level, text);
    }
    if let Some(file) = ctx.config().status_page() {
        let dir = file.parent().unwrap_or(std::path::Path::new("."));
        let (level, text) = doctor::status_page_dir(
            &file.display().to_string(),
            &dir.display().to_string(),
            dir.is_dir(),
            writable(dir),
        );
        d.add("status page", level, text);
    }
    for (group, key, name, effect) in named_variables(ctx.config()) {
        if crate::config::env_secret_set(&name) {
            continue;
        }
        let (level, text) = doctor::unset_env(&key, &name, effect);
        d.add(group, level, text);
    }
}

/// The step of using the state folder that failed, and its innermost reason.
#[derive(Debug)]
struct Unusable {
    step: String,
    cause: String,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.cause)
    }
}

/// Use the state folder as a tick does, as this user: create it when missing,
/// write and remove a file, take and let go the poll tick's lock. What doctor
/// created is removed again. Ok(true): a running tick holds the lock.
fn probe_state_folder(dir: &std::path::Path) -> Result<bool, Unusable> {
    let missing: Vec<&std::path::Path> = dir
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && p.symlink_metadata().is_err())
        .collect();
    let why = |step: String, e: &dyn std::fmt::Display| Unusable {
        step,
        cause: e.to_string(),
    };
    let result = (|| {
        crate::store::private_dir(dir)
            .map_err(|e| why(format!("cannot create {}", dir.display()), &e))?;
        let probe = dir.join(format!(".afk-doctor-{}", std::process::id()));
        crate::store::private_write(&probe, b"afk doctor\n")
            .map_err(|e| why(format!("cannot write a file in {}", dir.display()), &e))?;
        std::fs::remove_file(&probe)
            .map_err(|e| why(format!("cannot remove {}", probe.display()), &e))?;
        let lock = crate::lock::try_acquire(dir, "poll").map_err(|e| {
            why(
                format!("cannot take the lock in {}", dir.display()),
                &e.root_cause(),
            )
        })?;
        Ok(lock.is_none())
    })();
    if !missing.is_empty() {
        let _ = std::fs::remove_file(dir.join("poll.lock"));
        for p in missing {
            let _ = std::fs::remove_dir(p);
        }
    }
    result
}

/// The state's folder or file this user cannot read (`store::Trouble::Unreadable`).
fn unreadable(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<crate::store::StateError>())
        .any(|s| s.trouble == crate::store::Trouble::Unreadable)
}

/// Whether this process can create a file in a folder: the one test every
/// folder doctor checks takes (the runner's git cache too).
pub(super) use crate::runner::checks::writable;

/// (check, key, variable, what stops without it) for every optional `*_env`.
fn named_variables(c: &crate::config::Config) -> Vec<(&'static str, String, String, &'static str)> {
    let n = &c.notify;
    let mut out = vec![
        (
            "notify",
            "notify.slack_webhook_env".to_string(),
            n.slack_webhook_env.clone(),
            "Slack gets no notification",
        ),
        (
            "notify",
            "notify.webhook_env".into(),
            n.webhook_env.clone(),
            "the webhook gets no event",
        ),
        (
            "notify",
            "notify.heartbeat_env".into(),
            n.heartbeat_env.clone(),
            "no heartbeat is pinged",
        ),
        (
            "upgrade",
            "upgrade.registry_auth_env".into(),
            c.upgrade.registry_auth_env.clone(),
            "registries that need a login refuse afk",
        ),
    ];
    for &tick in crate::types::TickKind::ALL {
        let name = n.heartbeat.for_tick(tick).to_string();
        out.push((
            "notify",
            format!("notify.heartbeat.{tick}"),
            name,
            "that tick's heartbeat is not pinged",
        ));
    }
    out.retain(|(_, _, name, _)| !name.trim().is_empty());
    out
}

/// A folder a tick writes in: there and writable, or creatable.
pub(super) fn folder_seen(path: &std::path::Path) -> crate::core::doctor::upgrade::FolderSeen {
    if path.is_dir() {
        return crate::core::doctor::upgrade::FolderSeen::Folder {
            writable: writable(path),
        };
    }
    if path.symlink_metadata().is_ok() {
        return crate::core::doctor::upgrade::FolderSeen::NotAFolder;
    }
    let above = path
        .ancestors()
        .skip(1)
        .find(|p| p.symlink_metadata().is_ok())
        .unwrap_or(std::path::Path::new("/"));
    if !above.is_dir() {
        return crate::core::doctor::upgrade::FolderSeen::Missing {
            above: above.display().to_string(),
            writable: false,
        };
    }
    crate::core::doctor::upgrade::FolderSeen::Missing {
        above: above.display().to_string(),
        writable: writable(above),
    }
}
